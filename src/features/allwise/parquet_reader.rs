//! AllWISE catalogues in Parquet (IRSA distributes AllWISE as HEALPix-partitioned Parquet).
//!
//! Uses the low-level column reader: only the position, magnitude and identifier columns are
//! decoded, whatever else the file holds (IRSA's files have about 300 columns).

use super::{
    AllWiseSource, CatalogueError, WiseMagnitudes, DEC_NAMES, ID_NAMES, RA_NAMES, W1_NAMES,
    W2_NAMES, W3_NAMES,
};
use parquet::basic::Type as PhysicalType;
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::DataType;
use parquet::errors::ParquetError;
use parquet::file::reader::{FileReader, RowGroupReader, SerializedFileReader};
use parquet::schema::types::SchemaDescriptor;
use std::fs::File;
use std::path::Path;

/// Why one column of one row group cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ColumnError {
    #[error("{}", codec_hint(.0.to_string()))]
    Read(#[source] ParquetError),
    #[error("{0}")]
    RowCount(#[source] std::num::TryFromIntError),
    #[error("{records} values where the row group has {rows} rows")]
    Count { records: usize, rows: usize },
    #[error("definition levels do not match the values")]
    Levels,
    #[error("not a numeric column")]
    NotNumeric,
    #[error("neither text nor an integer")]
    NotAnId,
}

/// The first flat column (file order, as the CSV reader takes the first header) whose name is
/// one of `names`, ignoring case.
fn find_column(schema: &SchemaDescriptor, names: &[&str]) -> Option<usize> {
    schema.columns().iter().position(|c| {
        c.path().parts().len() == 1 && names.iter().any(|n| c.name().eq_ignore_ascii_case(n))
    })
}

/// Every value of one column chunk, `None` where null.
fn read_all<T: DataType>(
    mut reader: ColumnReaderImpl<T>,
    rows: usize,
    max_def: i16,
) -> Result<Vec<Option<T::T>>, ColumnError> {
    let mut defs: Vec<i16> = Vec::with_capacity(rows);
    let mut values: Vec<T::T> = Vec::with_capacity(rows);
    let (records, _, _) = reader
        .read_records(rows, Some(&mut defs), None, &mut values)
        .map_err(ColumnError::Read)?;
    if records != rows {
        return Err(ColumnError::Count { records, rows });
    }
    if max_def == 0 {
        return Ok(values.into_iter().map(Some).collect());
    }
    let mut values = values.into_iter();
    let out: Vec<Option<T::T>> = defs
        .iter()
        .map(|&d| if d == max_def { values.next() } else { None })
        .collect();
    if out.len() != rows || values.next().is_some() {
        return Err(ColumnError::Levels);
    }
    Ok(out)
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// A numeric column as f64 (float32, float64 or integer), non-finite values as missing.
fn read_numbers(rg: &dyn RowGroupReader, col: usize) -> Result<Vec<Option<f64>>, ColumnError> {
    let rows = usize::try_from(rg.metadata().num_rows()).map_err(ColumnError::RowCount)?;
    let max_def = rg.metadata().column(col).column_descr().max_def_level();
    let reader = rg.get_column_reader(col).map_err(ColumnError::Read)?;
    let conv = |v: Vec<Option<f64>>| v.into_iter().map(|v| v.and_then(finite)).collect();
    Ok(match reader {
        ColumnReader::DoubleColumnReader(r) => conv(read_all(r, rows, max_def)?),
        ColumnReader::FloatColumnReader(r) => conv(
            read_all(r, rows, max_def)?
                .into_iter()
                .map(|v| v.map(f64::from))
                .collect(),
        ),
        ColumnReader::Int32ColumnReader(r) => conv(
            read_all(r, rows, max_def)?
                .into_iter()
                .map(|v| v.map(f64::from))
                .collect(),
        ),
        ColumnReader::Int64ColumnReader(r) => conv(
            read_all(r, rows, max_def)?
                .into_iter()
                .map(|v| v.map(|v| v as f64))
                .collect(),
        ),
        _ => return Err(ColumnError::NotNumeric),
    })
}

/// An identifier column as text (strings or integers, as `source_id` or `cntr` are).
fn read_ids(rg: &dyn RowGroupReader, col: usize) -> Result<Vec<Option<String>>, ColumnError> {
    let rows = usize::try_from(rg.metadata().num_rows()).map_err(ColumnError::RowCount)?;
    let max_def = rg.metadata().column(col).column_descr().max_def_level();
    let reader = rg.get_column_reader(col).map_err(ColumnError::Read)?;
    Ok(match reader {
        ColumnReader::ByteArrayColumnReader(r) => read_all(r, rows, max_def)?
            .into_iter()
            .map(|v| v.map(|b| String::from_utf8_lossy(b.data()).trim().to_string()))
            .collect(),
        ColumnReader::Int64ColumnReader(r) => read_all(r, rows, max_def)?
            .into_iter()
            .map(|v| v.map(|v| v.to_string()))
            .collect(),
        ColumnReader::Int32ColumnReader(r) => read_all(r, rows, max_def)?
            .into_iter()
            .map(|v| v.map(|v| v.to_string()))
            .collect(),
        _ => return Err(ColumnError::NotAnId),
    })
}

/// The parquet crate names a codec left out of this build as a "disabled feature"; say
/// what the user can do about it instead.
fn codec_hint(e: String) -> String {
    match e.split("Disabled feature at compile time: ").nth(1) {
        Some(codec) => format!(
            "compressed with {codec}, which this build does not read: rewrite the file \
             with snappy, gzip or no compression"
        ),
        None => e,
    }
}

/// Reads the sources of a Parquet catalogue; errors are the problem, without the path.
pub(super) fn read_sources(path: &Path) -> Result<Vec<AllWiseSource>, CatalogueError> {
    let file = File::open(path).map_err(CatalogueError::Io)?;
    let reader = SerializedFileReader::new(file).map_err(CatalogueError::NotParquet)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let ra_col = find_column(&schema, RA_NAMES).ok_or(CatalogueError::NoRa)?;
    let dec_col = find_column(&schema, DEC_NAMES).ok_or(CatalogueError::NoDec)?;
    let id_col = find_column(&schema, ID_NAMES);
    let cols = [W1_NAMES, W2_NAMES, W3_NAMES].map(|n| find_column(&schema, n));
    if cols.iter().all(Option::is_none) {
        return Err(CatalogueError::NoMagnitudes);
    }
    for c in [Some(ra_col), Some(dec_col), id_col]
        .into_iter()
        .chain(cols)
        .flatten()
    {
        let d = schema.column(c);
        if d.max_rep_level() > 0 {
            return Err(CatalogueError::ListColumn {
                column: d.name().to_string(),
            });
        }
        let numeric = matches!(
            d.physical_type(),
            PhysicalType::FLOAT | PhysicalType::DOUBLE | PhysicalType::INT32 | PhysicalType::INT64
        );
        if Some(c) != id_col && !numeric {
            return Err(CatalogueError::NotNumeric {
                column: d.name().to_string(),
                kind: d.physical_type(),
            });
        }
    }
    let mut sources = Vec::new();
    let mut row_base = 0usize;
    for g in 0..reader.num_row_groups() {
        let rg = reader
            .get_row_group(g)
            .map_err(|source| CatalogueError::RowGroup { group: g, source })?;
        let in_group = |c: usize, problem: ColumnError| CatalogueError::Column {
            group: g,
            column: schema.column(c).name().to_string(),
            problem,
        };
        let ra = read_numbers(rg.as_ref(), ra_col).map_err(|e| in_group(ra_col, e))?;
        let dec = read_numbers(rg.as_ref(), dec_col).map_err(|e| in_group(dec_col, e))?;
        let ids = match id_col {
            Some(c) => Some(read_ids(rg.as_ref(), c).map_err(|e| in_group(c, e))?),
            None => None,
        };
        let mut mags: [Option<Vec<Option<f64>>>; 3] = [None, None, None];
        for (m, c) in mags.iter_mut().zip(cols) {
            if let Some(c) = c {
                *m = Some(read_numbers(rg.as_ref(), c).map_err(|e| in_group(c, e))?);
            }
        }
        let mag = |k: usize, i: usize| mags[k].as_ref().and_then(|v| v[i]);
        for i in 0..ra.len() {
            let (Some(r), Some(d)) = (ra[i], dec[i]) else {
                continue;
            };
            let id = ids
                .as_ref()
                .and_then(|v| v[i].clone())
                .unwrap_or_else(|| (row_base + i + 1).to_string());
            sources.push(AllWiseSource {
                id,
                ra: r,
                dec: d,
                mags: WiseMagnitudes {
                    w1: mag(0, i),
                    w2: mag(1, i),
                    w3: mag(2, i),
                },
            });
        }
        row_base += ra.len();
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_codec_left_out_of_the_build_is_named_with_a_way_out() {
        let e = super::codec_hint("Parquet error: Disabled feature at compile time: zstd".into());
        assert!(e.starts_with("compressed with zstd,"), "{e}");
        assert_eq!(super::codec_hint("other".into()), "other");
    }
}
