//! CIC-IDS2017's two CSV layouts, mapped onto one set of column names.
//!
//! The original MachineLearningCVE files and the 2021 "improved"
//! re-extraction (Engelen et al.) name the same CICFlowMeter features
//! differently (`Total Fwd Packets` / `Total Fwd Packet`, `Init_Win_bytes_forward`
//! / `FWD Init Win Bytes`, …). Names are compared in a folded form (lower
//! case, letters and digits only) and the known renames map to the improved
//! layout's spelling, so a model trained on one layout scores the other.

/// What a header cell is.
pub(crate) enum Column {
    Label,
    /// Addresses, ports of origin, timestamps, row ids: they identify a flow
    /// in one capture and would let a model memorise the lab's addresses.
    Identifier,
    Feature(String),
}

fn fold(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Original-layout names (folded) and the improved layout's spelling.
const RENAMES: [(&str, &str); 22] = [
    ("destinationport", "Dst Port"),
    ("totalfwdpackets", "Total Fwd Packet"),
    ("totalbackwardpackets", "Total Bwd packets"),
    ("totallengthoffwdpackets", "Total Length of Fwd Packet"),
    ("totallengthofbwdpackets", "Total Length of Bwd Packet"),
    ("minpacketlength", "Packet Length Min"),
    ("maxpacketlength", "Packet Length Max"),
    ("cweflagcount", "CWR Flag Count"),
    ("avgfwdsegmentsize", "Fwd Segment Size Avg"),
    ("avgbwdsegmentsize", "Bwd Segment Size Avg"),
    ("fwdavgbytesbulk", "Fwd Bytes/Bulk Avg"),
    ("fwdavgpacketsbulk", "Fwd Packet/Bulk Avg"),
    ("fwdavgbulkrate", "Fwd Bulk Rate Avg"),
    ("bwdavgbytesbulk", "Bwd Bytes/Bulk Avg"),
    ("bwdavgpacketsbulk", "Bwd Packet/Bulk Avg"),
    ("bwdavgbulkrate", "Bwd Bulk Rate Avg"),
    ("initwinbytesforward", "FWD Init Win Bytes"),
    ("initwinbytesbackward", "Bwd Init Win Bytes"),
    ("actdatapktfwd", "Fwd Act Data Pkts"),
    ("minsegsizeforward", "Fwd Seg Size Min"),
    ("fwdheaderlength1", "Fwd Header Length"),
    ("avgpacketsize", "Average Packet Size"),
];

const IDENTIFIERS: [&str; 11] = [
    "id",
    "flowid",
    "srcip",
    "sourceip",
    "srcport",
    "sourceport",
    "dstip",
    "destinationip",
    "timestamp",
    "attemptedcategory",
    "simillarhttp",
];

/// What a header cell is, with features under their canonical names.
pub(crate) fn column_kind(raw: &str) -> Column {
    let folded = fold(raw);
    if folded == "label" {
        return Column::Label;
    }
    if IDENTIFIERS.contains(&folded.as_str()) {
        return Column::Identifier;
    }
    match RENAMES.iter().find(|(from, _)| *from == folded) {
        Some((_, to)) => Column::Feature((*to).to_owned()),
        None => Column::Feature(raw.trim().to_owned()),
    }
}

/// Class names as the improved release spells them. The original files
/// spell some differently and carry a mis-encoded dash (`Web Attack � XSS`).
pub fn canonical_cic_label(raw: &str) -> String {
    let folded = fold(raw);
    let known = [
        ("benign", "BENIGN"),
        ("portscan", "Portscan"),
        ("bot", "Botnet"),
        ("botnet", "Botnet"),
        ("dosslowloris", "DoS Slowloris"),
        ("dosslowhttptest", "DoS Slowhttptest"),
        ("doshulk", "DoS Hulk"),
        ("dosgoldeneye", "DoS GoldenEye"),
        ("ddos", "DDoS"),
        ("ftppatator", "FTP-Patator"),
        ("sshpatator", "SSH-Patator"),
        ("webattackbruteforce", "Web Attack - Brute Force"),
        ("webattackxss", "Web Attack - XSS"),
        ("webattacksqlinjection", "Web Attack - SQL Injection"),
        ("infiltration", "Infiltration"),
        ("infiltrationportscan", "Infiltration - Portscan"),
        ("heartbleed", "Heartbleed"),
    ];
    match known.iter().find(|(f, _)| *f == folded) {
        Some((_, name)) => (*name).to_owned(),
        None => raw.trim().to_owned(),
    }
}

/// Positions of the source address, source port and destination address
/// columns, when the header has all three.
pub(crate) fn endpoint_columns(header: &csv::StringRecord) -> Option<[usize; 3]> {
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&fold(h).as_str()));
    Some([find(&["srcip", "sourceip"])?, find(&["srcport", "sourceport"])?, find(&["dstip", "destinationip"])?])
}
