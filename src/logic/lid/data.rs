//! The I/O edge of language identification: reading training text from a directory laid
//! out as `data/lid/<domain>/<label>.txt`.

use std::path::Path;

use super::train::{group_of, Corpus};
use crate::domain::language::LanguageTag;

/// Read every `<domain>/<label>.txt` under `dir`, sorted, skipping blank lines. A label
/// with no group (see [`group_of`]) is an error: say which group it belongs to first.
pub fn read_corpora(dir: &Path) -> anyhow::Result<Vec<Corpus>> {
    let mut out = Vec::new();
    let mut domains: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .collect();
    domains.sort_by_key(|e| e.file_name());
    for d in domains {
        let domain = d.file_name().to_string_lossy().to_string();
        let mut files: Vec<_> = std::fs::read_dir(d.path())?
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "txt"))
            .collect();
        files.sort_by_key(|e| e.file_name());
        for f in files {
            let path = f.path();
            let label = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let group = group_of(&label).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: label `{label}` has no group; add it to lid::train::group_of",
                    path.display()
                )
            })?;
            let text = std::fs::read_to_string(&path)?;
            out.push(Corpus {
                label,
                domain: domain.clone(),
                group: LanguageTag::parse(group)?,
                lines: text
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.chars().any(char::is_alphabetic))
                    .map(str::to_string)
                    .collect(),
                twin: false,
            });
        }
    }
    Ok(out)
}

/// The non-blank lines of a text file.
pub fn read_lines(path: &Path) -> std::io::Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}
