//! Labelled flow files from the command line: paths to a `Table`, with the
//! bytes' hash for the model's provenance.

use std::path::PathBuf;

use anyhow::Context;
use rampart_ml::dataset::{self, Format, Table};
use sha2::{Digest, Sha256};

use crate::args::{DataArgs, DataFormat, LayoutArgs};

pub struct Loaded {
    pub table: Table,
    pub files: Vec<PathBuf>,
    pub format: Format,
    pub skipped: u64,
    pub sha256: String,
}

pub fn format_of(format: DataFormat, label: &str) -> Format {
    match format {
        DataFormat::NslKdd => Format::NslKdd,
        DataFormat::CicIds2017 => Format::CicIds2017,
        DataFormat::Csv => Format::Csv { label: label.to_owned() },
    }
}

/// Files named on the command line; a directory stands for the *.csv and
/// *.txt files in it, sorted by name so the row order is reproducible.
pub fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("csv" | "txt")))
                .collect();
            inside.sort();
            anyhow::ensure!(!inside.is_empty(), "{}: no .csv or .txt files in this directory", path.display());
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

pub fn load(args: &DataArgs) -> anyhow::Result<Loaded> {
    load_paths(&args.data, &args.layout)
}

pub fn load_paths(paths: &[PathBuf], layout: &LayoutArgs) -> anyhow::Result<Loaded> {
    let skip_bad = layout.skip_bad_rows;
    let format = format_of(layout.format, &layout.label);
    let files = expand(paths)?;
    let mut table = Table::default();
    let mut hasher = Sha256::new();
    let mut skipped = 0;
    for (i, file) in files.iter().enumerate() {
        let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        hasher.update(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        skipped += dataset::parse_into(&mut table, &text, &format, &file.display().to_string(), i as u32, skip_bad)
            .map_err(|bad| {
                let hint = if skip_bad || bad.whole_file { "" } else { " (--skip-bad-rows skips such rows)" };
                anyhow::anyhow!("{bad}{hint}")
            })?;
    }
    anyhow::ensure!(!table.rows.is_empty(), "no rows in {}", describe(&files));
    Ok(Loaded { table, files, format, skipped, sha256: hex::encode(hasher.finalize()) })
}

pub fn describe(files: &[PathBuf]) -> String {
    match files {
        [one] => one.display().to_string(),
        many => format!("{} files", many.len()),
    }
}
