//! Flow records as CSV in the improved CIC-IDS2017 layout (identifier
//! columns, the features, `Label`), which `rampart train flows` and
//! `eval flows` read like the dataset itself.

use std::io::{self, Write};

use crate::flow::FEATURE_NAMES;
use crate::table::Ended;

pub struct FlowCsv<W: Write> {
    out: W,
    rows: u64,
}

impl<W: Write> FlowCsv<W> {
    /// Writes the header.
    pub fn new(mut out: W) -> io::Result<FlowCsv<W>> {
        let mut header = String::from("id,Flow ID,Src IP,Src Port,Dst IP,Dst Port,Protocol,Timestamp");
        for name in &FEATURE_NAMES[2..] {
            header.push(',');
            header.push_str(name);
        }
        header.push_str(",Label\n");
        out.write_all(header.as_bytes())?;
        Ok(FlowCsv { out, rows: 0 })
    }

    /// One record with its label (addresses and labels never contain a
    /// comma: the label is the caller's, checked where it is read).
    pub fn write(&mut self, flow: &Ended, label: &str) -> io::Result<()> {
        self.rows += 1;
        let k = &flow.key;
        let f = &flow.features;
        write!(
            self.out,
            "{},{},{},{},{},{},{},{}",
            self.rows,
            k.id(),
            k.src,
            k.src_port,
            k.dst,
            f[0],
            f[1],
            timestamp(flow.start_us)
        )?;
        for value in &f[2..] {
            write!(self.out, ",{value}")?;
        }
        writeln!(self.out, ",{label}")
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// `2017-07-07 19:02:39.182486`, UTC, as the dataset writes it.
fn timestamp(us: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        ),
        Err(_) => us.to_string(),
    }
}
