//! A command owns its output folder: the whole output set is written into a
//! temporary folder beside the target and swapped in at the end.
//!
//! - The temporary folder is `.<name>.hasim-tmp-<pid>` in the target's parent, so a
//!   rename moves it into place (same file system). The old target is first renamed
//!   to `.<name>.hasim-old-<pid>`, then removed. At no moment does the target hold
//!   files of two runs; a crash between the two renames leaves the target absent and
//!   the old set under its temporary name.
//! - Those names are recognised: every command that writes `<name>` first removes
//!   `.<name>.hasim-tmp-*` and `.<name>.hasim-old-*` left by processes that are no
//!   longer running (killed with SIGKILL, or a machine that went down).
//! - The temporary folder is removed when the command fails or is dropped, and by
//!   [`remove_temporaries`] from a signal handler.
//! - A target that holds files hasim did not write (not in its `manifest.json`, not
//!   one of hasim's own file names) is refused unless `--force`, so pointing `--out`
//!   at a folder of your own never deletes it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::manifest::{Manifest, FILE as MANIFEST};

/// Temporary folders of this process that are not swapped in yet.
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The files hasim wrote before folders had a manifest (they may be replaced).
const OWN_FILES: [&str; 15] = [
    "summary.csv",
    "timeseries.csv",
    "servers.csv",
    "faults.csv",
    "comparison.csv",
    "paired.csv",
    "availability.svg",
    "availability.png",
    "latency.svg",
    "latency.png",
    "load.svg",
    "load.png",
    "comparison.svg",
    "comparison.png",
    MANIFEST,
];

/// Why an output folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// `--out` names an existing file.
    #[error("--out {}: is a file, not a folder; choose another --out", path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// `--out` has no last component to name a folder (`.`, `..`, `/`).
    #[error("--out {}: name a folder (for example results/mine), not `.`, `..` or `/`", path.display())]
    NoName {
        /// The path.
        path: PathBuf,
    },
    /// The folder holds a file hasim did not write.
    #[error(
        "--out {}: holds `{file}`, which hasim did not write; a run replaces its whole \
         folder, so choose an empty or new folder, or pass --force to replace it anyway",
        path.display()
    )]
    Foreign {
        /// The folder.
        path: PathBuf,
        /// The first such file.
        file: String,
    },
    /// A file system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl FolderError {
    /// True for a bad `--out` (exit 2), false for an I/O failure (exit 1).
    pub fn is_usage(&self) -> bool {
        !matches!(self, FolderError::Io { .. })
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FolderError {
    let path = path.to_path_buf();
    move |source| FolderError::Io {
        action,
        path,
        source,
    }
}

/// The target's parent and last component.
fn split(target: &Path) -> Result<(PathBuf, String), FolderError> {
    let name = match target.file_name() {
        Some(n) if n != "." && n != ".." => n.to_string_lossy().into_owned(),
        _ => {
            return Err(FolderError::NoName {
                path: target.to_path_buf(),
            })
        }
    };
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}

/// Checks, before anything is simulated, that `target` can be (re)placed: it does
/// not exist, or is a folder holding only files hasim wrote (any files with
/// `force`).
pub fn check_target(target: &Path, force: bool) -> Result<(), FolderError> {
    split(target)?;
    let Ok(meta) = fs::metadata(target) else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Err(FolderError::NotAFolder {
            path: target.to_path_buf(),
        });
    }
    if force {
        return Ok(());
    }
    match foreign_file(target)? {
        Some(file) => Err(FolderError::Foreign {
            path: target.to_path_buf(),
            file,
        }),
        None => Ok(()),
    }
}

/// The first entry of `dir` (by name) that hasim did not write, if any.
fn foreign_file(dir: &Path) -> Result<Option<String>, FolderError> {
    let listed: Vec<String> = match Manifest::read(dir) {
        Ok(Some(m)) => m.files.into_iter().map(|f| f.name).collect(),
        _ => Vec::new(),
    };
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(io("read", dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let ours = |n: &String| {
        OWN_FILES.contains(&n.as_str())
            || listed.contains(n)
            // Temporary files of the atomic writer (`.summary.csv.1234.tmp`).
            || (n.starts_with('.') && n.ends_with(".tmp"))
    };
    Ok(names.into_iter().find(|n| !ours(n)))
}

/// An output folder being written: a temporary folder beside the target, swapped in
/// by [`OutputFolder::commit`] and removed if dropped before.
#[derive(Debug)]
pub struct OutputFolder {
    target: PathBuf,
    temporary: PathBuf,
    committed: bool,
}

impl OutputFolder {
    /// Creates the temporary folder for `target` (after removing what dead processes
    /// left beside it). Call [`check_target`] first.
    pub fn create(target: &Path) -> Result<OutputFolder, FolderError> {
        let (parent, name) = split(target)?;
        fs::create_dir_all(&parent).map_err(io("create folder", &parent))?;
        remove_stale(&parent, &name);
        let temporary = parent.join(format!(".{name}.hasim-tmp-{}", std::process::id()));
        if temporary.exists() {
            fs::remove_dir_all(&temporary).map_err(io("remove", &temporary))?;
        }
        fs::create_dir(&temporary).map_err(io("create folder", &temporary))?;
        if let Ok(mut list) = TEMPORARIES.lock() {
            list.push(temporary.clone());
        }
        Ok(OutputFolder {
            target: target.to_path_buf(),
            temporary,
            committed: false,
        })
    }

    /// Where to write the files now.
    pub fn path(&self) -> &Path {
        &self.temporary
    }

    /// Where they will be.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Swaps the new set in: the old target (if any) is moved aside, the temporary
    /// folder renamed to the target, and the old set removed.
    pub fn commit(mut self) -> Result<(), FolderError> {
        let (parent, name) = split(&self.target)?;
        if fs::metadata(&self.target).is_ok() {
            let old = parent.join(format!(".{name}.hasim-old-{}", std::process::id()));
            if old.exists() {
                fs::remove_dir_all(&old).map_err(io("remove", &old))?;
            }
            fs::rename(&self.target, &old).map_err(io("move aside", &self.target))?;
            if let Err(e) = fs::rename(&self.temporary, &self.target) {
                let _ = fs::rename(&old, &self.target);
                return Err(io("move into place", &self.temporary)(e));
            }
            // Best effort: a leftover is removed by the next run.
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(&self.temporary, &self.target)
                .map_err(io("move into place", &self.temporary))?;
        }
        self.committed = true;
        forget(&self.temporary);
        Ok(())
    }
}

impl Drop for OutputFolder {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.temporary);
            forget(&self.temporary);
        }
    }
}

fn forget(path: &Path) {
    if let Ok(mut list) = TEMPORARIES.lock() {
        list.retain(|p| p != path);
    }
}

/// Removes every temporary folder of this process (for a signal handler that is
/// about to exit).
pub fn remove_temporaries() {
    let list = match TEMPORARIES.lock() {
        Ok(list) => list.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    for path in list {
        let _ = fs::remove_dir_all(path);
    }
}

/// Removes `.<name>.hasim-tmp-<pid>` and `.<name>.hasim-old-<pid>` in `parent`
/// whose process is gone.
fn remove_stale(parent: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let prefix = format!(".{name}.hasim-");
    for entry in entries.filter_map(|e| e.ok()) {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest
            .strip_prefix("tmp-")
            .or_else(|| rest.strip_prefix("old-"))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !alive(pid) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Whether process `pid` is running (Linux: `/proc`; elsewhere assumed gone).
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    proc.join("self").exists() && proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_whole_set_and_removes_leftovers() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("paired.csv"), "old").unwrap();
        fs::write(target.join(".summary.csv.99.tmp"), "half").unwrap();
        // A dead process's temporary folder (pid beyond any real one).
        let stale = tmp.path().join(".out.hasim-tmp-4294967294");
        fs::create_dir(&stale).unwrap();
        check_target(&target, false).unwrap();
        let folder = OutputFolder::create(&target).unwrap();
        assert!(!stale.exists(), "a dead process's folder is removed");
        fs::write(folder.path().join("summary.csv"), "new").unwrap();
        folder.commit().unwrap();
        let mut names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["out"]);
        let inside: Vec<_> = fs::read_dir(&target).unwrap().collect();
        assert_eq!(inside.len(), 1);
        assert_eq!(
            fs::read_to_string(target.join("summary.csv")).unwrap(),
            "new"
        );
    }

    #[test]
    fn refuses_files_and_foreign_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        fs::write(&file, "x").unwrap();
        assert!(matches!(
            check_target(&file, true),
            Err(FolderError::NotAFolder { .. })
        ));
        let mine = tmp.path().join("mine");
        fs::create_dir(&mine).unwrap();
        fs::write(mine.join("notes.txt"), "keep me").unwrap();
        let err = check_target(&mine, false).unwrap_err();
        assert!(err.to_string().contains("notes.txt"), "{err}");
        assert!(err.is_usage());
        check_target(&mine, true).unwrap();
        assert!(matches!(
            check_target(Path::new("."), false),
            Err(FolderError::NoName { .. })
        ));
    }

    #[test]
    fn dropping_removes_the_temporary_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        let folder = OutputFolder::create(&target).unwrap();
        let path = folder.path().to_path_buf();
        assert!(path.is_dir());
        drop(folder);
        assert!(!path.exists());
        assert!(!target.exists());
    }
}
