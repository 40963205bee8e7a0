//! Output files are written whole or not at all: through a hidden temporary file
//! beside the target, synced, then renamed over it (DESIGN.md invariant 8).

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

/// Writes `path` by letting `fill` write a temporary file, then syncing it and renaming
/// it over `path`. A crash leaves the old file or the new one, never half of one; the
/// temporary file is removed if anything fails. `io` turns I/O errors into `E`.
pub(crate) fn write<E>(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<(), E>,
    io: impl Fn(io::Error) -> E,
) -> Result<(), E> {
    let tmp = temporary_name(path);
    let result = (|| {
        let mut out = BufWriter::new(File::create(&tmp).map_err(&io)?);
        fill(&mut out)?;
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(&io)?;
        drop(file);
        fs::rename(&tmp, path).map_err(&io)
    })();
    if result.is_err() {
        // Best effort: the error that matters is the one being returned.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The temporary name for `path`: hidden, and with the process id so two processes
/// writing the same folder do not write into each other's file.
fn temporary_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(
        ".{}.{}.tmp",
        name.unwrap_or_default(),
        std::process::id()
    ))
}
