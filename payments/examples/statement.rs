//! Writes a synthetic bank statement (see `payments::sample`) to standard output, e.g. to
//! publish on a test SFTP server or to seed the fuzz targets:
//!
//! ```sh
//! cargo run -p payments --example statement -- fixed big5 20 > deposits.txt
//! cargo run -p payments --example statement -- csv utf8 20 > deposits.csv
//! ```

use payments::statement::{write, Encoding, Format};
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: statement fixed|csv utf8|big5 DEPOSITS [SEED]";
    let format = match args.first().map(String::as_str) {
        Some("fixed") => Format::FixedWidth,
        Some("csv") => Format::Csv,
        _ => return Err(usage.into()),
    };
    let encoding = match args.get(1).map(String::as_str) {
        Some("utf8") => Encoding::Utf8,
        Some("big5") => Encoding::Big5,
        _ => return Err(usage.into()),
    };
    let deposits: usize = args.get(2).ok_or(usage)?.parse()?;
    let seed: u64 = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let month = payments::sample::month(seed, (deposits * 2 / 5).max(2), deposits);
    std::io::stdout().write_all(&write(format, &month.statement, encoding)?)?;
    Ok(())
}
