//! NSL-KDD: 41 features, the label, a difficulty level; no header.

/// The 41 feature names, as in the dataset's `Field Names.csv`.
pub const NSL_KDD_COLUMNS: [&str; 41] = [
    "duration",
    "protocol_type",
    "service",
    "flag",
    "src_bytes",
    "dst_bytes",
    "land",
    "wrong_fragment",
    "urgent",
    "hot",
    "num_failed_logins",
    "logged_in",
    "num_compromised",
    "root_shell",
    "su_attempted",
    "num_root",
    "num_file_creations",
    "num_shells",
    "num_access_files",
    "num_outbound_cmds",
    "is_host_login",
    "is_guest_login",
    "count",
    "srv_count",
    "serror_rate",
    "srv_serror_rate",
    "rerror_rate",
    "srv_rerror_rate",
    "same_srv_rate",
    "diff_srv_rate",
    "srv_diff_host_rate",
    "dst_host_count",
    "dst_host_srv_count",
    "dst_host_same_srv_rate",
    "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate",
    "dst_host_srv_diff_host_rate",
    "dst_host_serror_rate",
    "dst_host_srv_serror_rate",
    "dst_host_rerror_rate",
    "dst_host_srv_rerror_rate",
];

/// The symbolic columns: protocol, service, TCP flag summary.
pub const NSL_KDD_SYMBOLIC: [&str; 3] = ["protocol_type", "service", "flag"];

/// 43 columns (41 features, label, difficulty) or 42 (no difficulty, as in
/// the older KDD'99 files). The difficulty is dropped: it is how many
/// learners got the row right, not a property of the connection.
pub(super) fn parse_row(line: &str) -> Result<(Vec<String>, String), String> {
    let cells: Vec<&str> = line.trim_end_matches('\r').split(',').map(str::trim).collect();
    if cells.len() != 43 && cells.len() != 42 {
        return Err(format!("{} columns; NSL-KDD rows have 43 (41 features, label, difficulty)", cells.len()));
    }
    for (i, cell) in cells[..41].iter().enumerate() {
        let symbolic = NSL_KDD_SYMBOLIC.contains(&NSL_KDD_COLUMNS[i]);
        if cell.is_empty() || (!symbolic && cell.parse::<f64>().is_err()) {
            return Err(format!("column {} ({}) is {cell:?}, not a number", i + 1, NSL_KDD_COLUMNS[i]));
        }
    }
    if cells[41].is_empty() {
        return Err("column 42 (the label) is empty".into());
    }
    // Some copies end labels with a dot (KDD'99: `normal.`).
    let label = cells[41].trim_end_matches('.').to_owned();
    Ok((cells[..41].iter().map(|c| (*c).to_owned()).collect(), label))
}

/// The standard 5-class mapping, including the 17 attack names that appear
/// only in the test files (see datasets/SOURCES.md).
pub fn nsl_kdd_category(label: &str) -> Option<&'static str> {
    Some(match label {
        "normal" => "normal",
        "back" | "land" | "neptune" | "pod" | "smurf" | "teardrop" | "apache2" | "mailbomb" | "processtable"
        | "udpstorm" => "DoS",
        "ipsweep" | "nmap" | "portsweep" | "satan" | "mscan" | "saint" => "Probe",
        "ftp_write" | "guess_passwd" | "imap" | "multihop" | "phf" | "spy" | "warezclient" | "warezmaster"
        | "named" | "sendmail" | "snmpgetattack" | "snmpguess" | "worm" | "xlock" | "xsnoop" | "httptunnel" => "R2L",
        "buffer_overflow" | "loadmodule" | "perl" | "rootkit" | "ps" | "sqlattack" | "xterm" => "U2R",
        _ => return None,
    })
}
