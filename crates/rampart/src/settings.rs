//! Loading the effective configuration: defaults, then the TOML file, then
//! `RAMPART_*` environment variables, then command-line flags.

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use rampart_core::config::{Config, LogFormat};

use crate::cli::{Cli, LogFormatArg, Overrides};

/// Environment variables with the RAMPART_ prefix that are not config keys.
const NOT_CONFIG: &[&str] = &["admin_token", "config", "token", "server", "ca_file"];

pub fn load(cli: &Cli, overrides: &Overrides) -> anyhow::Result<Config> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = &cli.config {
        anyhow::ensure!(path.is_file(), "config file {} does not exist", path.display());
        figment = figment.merge(Toml::file(path));
    }
    figment = figment.merge(Env::prefixed("RAMPART_").split("__").ignore(NOT_CONFIG));
    if let Some(listen) = overrides.listen {
        figment = figment.merge(Serialized::default("listen", listen));
    }
    if let Some(dir) = &overrides.data_dir {
        figment = figment.merge(Serialized::default("data_dir", dir));
    }
    if overrides.enforce {
        figment = figment.merge(Serialized::default("respond.mode", "enforce"));
    }
    if let Some(cert) = &overrides.tls_cert {
        figment = figment.merge(Serialized::default("http.tls_cert", cert));
    }
    if let Some(key) = &overrides.tls_key {
        figment = figment.merge(Serialized::default("http.tls_key", key));
    }
    if let Some(dir) = &overrides.rules_dir {
        figment = figment.merge(Serialized::default("detect.rules_dir", dir));
    }
    if let Some(level) = &cli.log_level {
        figment = figment.merge(Serialized::default("log.level", level));
    }
    if let Some(format) = cli.log_format {
        let format = match format {
            LogFormatArg::Pretty => LogFormat::Pretty,
            LogFormatArg::Json => LogFormat::Json,
        };
        figment = figment.merge(Serialized::default("log.format", format));
    }
    let config: Config = figment.extract().context("invalid configuration")?;
    config.validate().context("invalid configuration")?;
    Ok(config)
}
