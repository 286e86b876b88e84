//! The rules compiled into the binary. Each file is plain rule YAML, the
//! same format users write, kept in `crates/detect/rules/`.

pub(crate) const FILES: &[(&str, &str)] =
    &[("ssh.yaml", include_str!("../rules/ssh.yaml")), ("web.yaml", include_str!("../rules/web.yaml"))];
