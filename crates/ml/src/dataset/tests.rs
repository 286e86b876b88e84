#![allow(clippy::unwrap_used)]

use super::*;
use crate::preprocess::{Cell, Preprocessor};

const KDD: &str = "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,0.00,0.00,1.00,0.00,0.00,150,25,0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,normal,20\n\
0,udp,other,SF,146,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,13,1,0.00,0.00,0.00,0.00,0.08,0.15,0.00,255,1,0.00,0.60,0.88,0.00,0.00,0.00,0.00,0.00,normal,15\n\
0,tcp,private,S0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,123,6,1.00,1.00,0.00,0.00,0.05,0.07,0.00,255,26,0.10,0.05,0.00,0.00,1.00,1.00,0.00,0.00,neptune,19\n";

/// The original MachineLearningCVE layout: leading spaces, a repeated
/// column, Infinity and NaN, the mis-encoded dash.
const CIC_ORIGINAL: &str = " Destination Port, Flow Duration, Total Fwd Packets, Flow Bytes/s, Fwd Header Length, Fwd Header Length.1, Label\n\
80,100,3,Infinity,20,20,BENIGN\n\
22,5,1,NaN,40,40,SSH-Patator\n\
80,7,2,12.5,20,20,Web Attack \u{fffd} XSS\n";

/// The improved layout, with identifiers first.
const CIC_IMPROVED: &str = "id,Flow ID,Src IP,Src Port,Dst IP,Dst Port,Protocol,Timestamp,Flow Duration,Total Fwd Packet,Flow Bytes/s,Fwd Header Length,Label,Attempted Category\n\
1,a,192.168.10.5,5555,10.0.0.1,80,6,2017-07-07 19:02:39,100,3,1.5,20,Portscan,-1\n\
2,b,192.168.10.6,5556,10.0.0.1,443,17,2017-07-07 19:02:40,50,1,2.5,40,BENIGN,-1\n";

fn parse(text: &str, format: &Format) -> Result<(Table, u64), BadRow> {
    let mut t = Table::default();
    let skipped = parse_into(&mut t, text, format, "f.csv", 0, false)?;
    Ok((t, skipped))
}

#[test]
fn nsl_kdd_rows_keep_41_features_and_map_to_five_classes() {
    let (t, _) = parse(KDD, &Format::NslKdd).unwrap();
    assert_eq!(t.columns.len(), 41);
    assert_eq!(t.columns[1], "protocol_type");
    assert_eq!(t.labels, ["normal", "normal", "neptune"]);
    assert_eq!(class_of("neptune", &Format::NslKdd, true).unwrap(), "DoS");
    // Names that appear only in the test files map too.
    assert_eq!(class_of("mscan", &Format::NslKdd, true).unwrap(), "Probe");
    assert_eq!(class_of("snmpguess", &Format::NslKdd, true).unwrap(), "R2L");
    assert_eq!(class_of("sqlattack", &Format::NslKdd, true).unwrap(), "U2R");
    assert_eq!(class_of("apache2", &Format::NslKdd, true).unwrap(), "DoS");
    assert_eq!(class_of("apache2", &Format::NslKdd, false).unwrap(), "attack");
    assert_eq!(class_of("martian", &Format::NslKdd, true).unwrap_err().label, "martian");
}

#[test]
fn both_cic_layouts_share_column_and_class_names() {
    let (original, _) = parse(CIC_ORIGINAL, &Format::CicIds2017).unwrap();
    assert_eq!(
        original.columns,
        ["Dst Port", "Flow Duration", "Total Fwd Packet", "Flow Bytes/s", "Fwd Header Length"]
    );
    assert_eq!(original.labels, ["BENIGN", "SSH-Patator", "Web Attack - XSS"]);
    assert!(original.endpoints.is_empty());
    let (improved, _) = parse(CIC_IMPROVED, &Format::CicIds2017).unwrap();
    assert_eq!(
        improved.columns,
        ["Dst Port", "Protocol", "Flow Duration", "Total Fwd Packet", "Flow Bytes/s", "Fwd Header Length"]
    );
    assert_eq!(improved.labels, ["Portscan", "BENIGN"]);
    assert_eq!(improved.endpoints[0], ["192.168.10.5", "5555", "10.0.0.1"]);
    // A model fitted on one layout reads the other's rows.
    let p = Preprocessor::fit(&improved, &["Protocol"], &[]);
    let map = p.column_map(&original.columns);
    assert!(map.unwrap_err().columns.contains(&"Protocol".to_owned()));
    let p = Preprocessor::fit(&original, &[], &[]);
    assert!(p.column_map(&improved.columns).is_ok());
}

#[test]
fn infinity_and_nan_become_extremes_and_missing() {
    let (t, _) = parse(CIC_ORIGINAL, &Format::CicIds2017).unwrap();
    let p = Preprocessor::fit(&t, &[], &[]);
    let x = p.encode_table(&t).unwrap();
    let at = p.features.iter().position(|f| f == "Flow Bytes/s").unwrap();
    let w = p.width();
    assert_eq!(x[at], f32::MAX);
    assert!(x[w + at].is_nan());
    assert_eq!(x[2 * w + at], 12.5);
}

#[test]
fn generic_csv_needs_its_label_column() {
    let format = Format::Csv { label: "class".into() };
    let (t, _) = parse("a,b,class\n1,x,good\n2,y,bad\n", &format).unwrap();
    assert_eq!(t.columns, ["a", "b"]);
    let err = parse("a,b\n1,2\n", &format).unwrap_err();
    assert_eq!(err.line, 1);
    assert!(err.reason.contains("no label column \"class\""), "{err}");
}

#[test]
fn malformed_rows_name_file_and_line_or_are_counted_when_skipped() {
    let bad_kdd = format!("{KDD}0,tcp,http,SF,oops\n");
    let err = parse(&bad_kdd, &Format::NslKdd).unwrap_err();
    assert_eq!((err.source.as_str(), err.line), ("f.csv", 4));
    assert!(err.to_string().starts_with("f.csv:4: 5 columns"), "{err}");
    let bad_number = KDD.replacen("491", "4x1", 1);
    assert!(parse(&bad_number, &Format::NslKdd).unwrap_err().reason.contains("src_bytes"));
    let bad_cic = format!("{CIC_IMPROVED}3,c,1.2.3.4,1,5.6.7.8\n");
    let err = parse(&bad_cic, &Format::CicIds2017).unwrap_err();
    assert_eq!(err.line, 4);
    assert!(err.reason.contains("columns"), "{err}");

    let mut t = Table::default();
    assert_eq!(parse_into(&mut t, &bad_kdd, &Format::NslKdd, "f", 0, true).unwrap(), 1);
    assert_eq!(t.rows.len(), 3);
}

#[test]
fn files_with_other_columns_are_refused() {
    let mut t = Table::default();
    parse_into(&mut t, CIC_IMPROVED, &Format::CicIds2017, "a.csv", 0, false).unwrap();
    let err = parse_into(&mut t, CIC_ORIGINAL, &Format::CicIds2017, "b.csv", 1, false).unwrap_err();
    assert!(err.to_string().starts_with("b.csv:1: its columns differ"), "{err}");
}

#[test]
fn symbolic_cells_one_hot_and_unseen_values_set_nothing() {
    let (t, _) = parse(KDD, &Format::NslKdd).unwrap();
    let p = Preprocessor::fit(&t, &NSL_KDD_SYMBOLIC, &[("src_bytes_per_count", "src_bytes", "count")]);
    assert!(p.features.contains(&"service=private".to_owned()));
    assert_eq!(p.features.last().unwrap(), "src_bytes_per_count");
    // Constant columns (duration is 0 in every row) are dropped.
    assert!(!p.features.contains(&"duration".to_owned()));
    let service = p.inputs.iter().position(|i| i.name == "service").unwrap();
    let mut row = Vec::new();
    p.encode(|i| if i == service { Cell::Text("gopher") } else { Cell::Num(1.0) }, &mut row);
    assert_eq!(row.len(), p.width());
    let at = p.features.iter().position(|f| f.starts_with("service=")).unwrap();
    assert!(row[at..at + 3].iter().all(|v| *v == 0.0));
}

proptest::proptest! {
    #[test]
    fn any_text_parses_or_errors_without_panicking(text in "[0-9a-zA-Z,. \"\\n-]{0,400}") {
        for format in [Format::NslKdd, Format::CicIds2017, Format::Csv { label: "a".into() }] {
            let mut t = Table::default();
            if parse_into(&mut t, &text, &format, "p", 0, true).is_ok() && !t.rows.is_empty() {
                let p = Preprocessor::fit(&t, &[], &[]);
                let x = p.encode_table(&t).unwrap();
                proptest::prop_assert_eq!(x.len(), t.rows.len() * p.width());
            }
        }
    }
}

#[test]
fn attack_labels_fall_into_the_families_left_out_together() {
    let cic = Format::CicIds2017;
    let family = |label: &str, format: &Format| family_of(label, format);
    assert_eq!(family("BENIGN", &cic), None);
    assert_eq!(family("DoS Slowloris", &cic).as_deref(), Some("DoS"));
    assert_eq!(family("DDoS", &cic).as_deref(), Some("DDoS"));
    assert_eq!(family("Infiltration - Portscan", &cic).as_deref(), Some("Portscan"), "the same scan as Portscan");
    assert_eq!(family("Infiltration", &cic).as_deref(), Some("Infiltration"));
    assert_eq!(family("SSH-Patator", &cic).as_deref(), Some("Brute force"));
    assert_eq!(family("Web Attack - XSS", &cic).as_deref(), Some("Web attack"));
    assert_eq!(family("Heartbleed", &cic).as_deref(), Some("Heartbleed"));
    assert_eq!(family("normal", &Format::NslKdd), None);
    assert_eq!(family("guess_passwd", &Format::NslKdd).as_deref(), Some("R2L"));
    assert_eq!(family("worm", &Format::Csv { label: "Label".into() }).as_deref(), Some("worm"));
}
