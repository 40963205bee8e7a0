//! One command's whole life: check `--out`, plan which runs to do (all, one shard,
//! or those `--resume` still needs), run them, write the folder, swap it in.
//! `hasim merge` shares the second half.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::assemble::{assemble, Written};
use super::origins::{Origin, Origins};
use super::runner::{self, Progress};
use super::{Kind, Shard, Sweep};
use crate::report::folder::{check_target, FolderError, OutputFolder};
use crate::report::manifest::{Manifest, ManifestError, MissingRuns, RunsInfo, ShardInfo};
use crate::report::plot::{self, PlotError, PlotOptions};
use crate::report::{
    runs_in, write_comparison_csv, write_paired_csv, FolderRuns, Layout, ReportError, Results,
    RunFiles,
};

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// The output folder.
    pub out: PathBuf,
    /// Worker threads (at least 1).
    pub jobs: usize,
    /// Only this slice of the plan.
    pub shard: Option<Shard>,
    /// Keep the runs an earlier, interrupted sweep into `out` finished.
    pub resume: bool,
    /// Replace `out` even if it holds files hasim did not write.
    pub force: bool,
    /// Draw the charts.
    pub charts: bool,
    /// The command line, for the manifest.
    pub command: Vec<String>,
    /// The variant `paired.csv` compares the others with (default: the first).
    pub baseline: Option<String>,
}

/// What a sweep or merge wrote.
#[derive(Debug)]
pub struct Outcome {
    /// Every run in the folder, for the terminal tables.
    pub results: Results,
    /// The manifest written.
    pub manifest: Manifest,
    /// The charts drawn (file stems).
    pub charts: Vec<String>,
    /// Runs left out because the sweep was stopped (or no folder had them).
    pub missing: usize,
    /// Measured calls of the runs simulated now.
    pub calls: u64,
    /// Events of the runs simulated now.
    pub events: u64,
}

/// Why a sweep or merge could not write its folder.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// `--out` cannot be used, or swapping it in failed.
    #[error(transparent)]
    Folder(#[from] FolderError),
    /// Writing or reading a CSV failed.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The manifest could not be read or written.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A chart could not be drawn.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// `--resume` or `merge` was given folders that do not fit.
    #[error("{0}")]
    Mismatch(String),
    /// The worker threads could not start.
    #[error("cannot start the worker threads: {0}")]
    Start(std::io::Error),
}

impl SweepError {
    /// True when the user asked for something impossible (exit 2).
    pub fn is_usage(&self) -> bool {
        match self {
            SweepError::Folder(e) => e.is_usage(),
            SweepError::Mismatch(_) => true,
            _ => false,
        }
    }
}

/// A sweep ready to run: `--out` checked, the runs to do known.
pub struct Prepared {
    sweep: Arc<Sweep>,
    options: SweepOptions,
    layout: Layout,
    manifest: Manifest,
    /// Where each run comes from (shared with the workers, who run the `Run` ones).
    origins: Arc<Origins>,
    earlier: Vec<FolderRuns>,
    earlier_failed: Vec<crate::report::manifest::FailedRun>,
    /// How many runs the workers have to do.
    todo: usize,
}

/// Checks `--out` (and, with `--resume`, what it holds) before anything runs.
pub fn run_sweep(sweep: Arc<Sweep>, options: SweepOptions) -> Result<Prepared, SweepError> {
    check_target(&options.out, options.force)?;
    let layout = sweep.layout();
    let mut manifest = sweep.manifest(options.command.clone());
    manifest.baseline = options.baseline.clone();
    manifest.shard = options.shard.map(|s| ShardInfo {
        index: s.index,
        count: s.count,
    });
    let mut origins = Origins::new(layout.runs(), options.shard);
    let mut earlier = Vec::new();
    let mut earlier_failed = Vec::new();
    if options.resume && options.out.exists() {
        let old = Manifest::read(&options.out)?.ok_or_else(|| {
            SweepError::Mismatch(format!(
                "--resume: {} has no manifest.json, so hasim cannot tell which runs it holds; \
                 drop --resume to replace it",
                options.out.display()
            ))
        })?;
        let mismatch = |why: String| {
            SweepError::Mismatch(format!(
                "--resume: {} was written by a different sweep ({why}); drop --resume to \
                 replace it, or use the command that made it",
                options.out.display()
            ))
        };
        manifest.same_plan(&old).map_err(mismatch)?;
        if old.shard != manifest.shard {
            return Err(mismatch("another --shard".to_string()));
        }
        for index in runs_in(&options.out, &layout)? {
            origins.found_in(index, 0);
        }
        earlier.push(FolderRuns::open(&options.out, &layout)?);
        earlier_failed = old.runs.failed;
    }
    let todo = origins.count(Origin::Run);
    Ok(Prepared {
        sweep,
        options,
        layout,
        manifest,
        origins: Arc::new(origins),
        earlier,
        earlier_failed,
        todo,
    })
}

impl Prepared {
    /// Runs still to simulate.
    pub fn todo(&self) -> usize {
        self.todo
    }

    /// Runs them (on `options.jobs` threads) and writes the folder; `stop` ends the
    /// sweep early, keeping every finished run.
    pub fn execute(
        mut self,
        progress: Arc<Progress>,
        stop: Arc<AtomicBool>,
    ) -> Result<Outcome, SweepError> {
        let folder = OutputFolder::create(&self.options.out)?;
        let mut files = RunFiles::create(folder.path(), &self.layout)?;
        let runs = match self.todo == 0 {
            true => None,
            false => Some(
                runner::start(
                    self.sweep.clone(),
                    self.origins.clone(),
                    self.todo,
                    self.options.jobs,
                    progress,
                    stop.clone(),
                )
                .map_err(SweepError::Start)?,
            ),
        };
        let failed = self.earlier_failed.clone();
        let layout = self.layout.clone();
        let failed_before = move |index: usize| {
            let (v, seed) = layout.split(index);
            failed
                .iter()
                .find(|f| f.variant == layout.variants[v] && f.seed == seed)
                .map_or_else(
                    || "failed in an earlier run".to_string(),
                    |f| f.error.clone(),
                )
        };
        let written = assemble(
            &self.layout,
            &self.origins,
            &mut self.earlier,
            &failed_before,
            runs,
            &stop,
            &mut files,
        )?;
        files.finish()?;
        drop(self.earlier);
        let kind = self.sweep.kind;
        let charts = self.options.charts && self.options.shard.is_none();
        finish(folder, self.manifest, &self.origins, written, kind, charts)
    }
}

/// `hasim merge DIR... --out OUT`: the runs of every folder (shards of one plan, or
/// partial sweeps), combined in plan order into the files one machine would write.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    force: bool,
    charts: bool,
    command: Vec<String>,
) -> Result<Outcome, SweepError> {
    check_target(out, force)?;
    let mut manifests = Vec::new();
    for dir in dirs {
        let manifest = Manifest::read(dir)?.ok_or_else(|| {
            SweepError::Mismatch(format!(
                "{}: no manifest.json; hasim merge takes folders written by `hasim run` or \
                 `hasim compare` (for example with --shard K/N)",
                dir.display()
            ))
        })?;
        if let Some(first) = manifests.first() {
            let first: &Manifest = first;
            first.same_plan(&manifest).map_err(|why| {
                SweepError::Mismatch(format!(
                    "{} and {} are not parts of one sweep: {why}",
                    dirs[0].display(),
                    dir.display()
                ))
            })?;
        }
        manifests.push(manifest);
    }
    let Some(first) = manifests.first().cloned() else {
        return Err(SweepError::Mismatch(
            "hasim merge needs at least one folder".into(),
        ));
    };
    let layout = first.layout();
    // Every run of the plan belongs in the merged folder, found or not.
    let mut origins = Origins::new(layout.runs(), None);
    let mut folders = Vec::new();
    for (k, dir) in dirs.iter().enumerate() {
        let k = u16::try_from(k)
            .map_err(|_| SweepError::Mismatch("hasim merge takes at most 65,535 folders".into()))?;
        for index in runs_in(dir, &layout)? {
            origins.found_in(index, k);
        }
        folders.push(FolderRuns::open(dir, &layout)?);
    }
    let failed: Vec<_> = manifests
        .iter()
        .flat_map(|m| m.runs.failed.clone())
        .collect();
    let failed_before = |index: usize| {
        let (v, seed) = layout.split(index);
        failed
            .iter()
            .find(|f| f.variant == layout.variants[v] && f.seed == seed)
            .map_or_else(
                || "failed in an earlier run".to_string(),
                |f| f.error.clone(),
            )
    };
    let folder = OutputFolder::create(out)?;
    let mut files = RunFiles::create(folder.path(), &layout)?;
    let written = assemble(
        &layout,
        &origins,
        &mut folders,
        &failed_before,
        None,
        &AtomicBool::new(false),
        &mut files,
    )?;
    files.finish()?;
    drop(folders);
    let mut manifest = first;
    manifest.command = command;
    manifest.shard = None;
    let kind = match manifest.kind.as_str() {
        "run" => Kind::Run,
        _ => Kind::Compare,
    };
    finish(folder, manifest, &origins, written, kind, charts)
}

/// The end every command shares: `comparison.csv` and `paired.csv` when they apply,
/// the charts, the manifest, and the swap.
fn finish(
    folder: OutputFolder,
    mut manifest: Manifest,
    origins: &Origins,
    written: Written,
    kind: Kind,
    charts: bool,
) -> Result<Outcome, SweepError> {
    let dir = folder.path().to_path_buf();
    let whole_plan = manifest.shard.is_none();
    if whole_plan && (kind == Kind::Compare || manifest.seeds.count > 1) {
        write_comparison_csv(&dir, &written.results)?;
    }
    if whole_plan && kind == Kind::Compare {
        write_paired_csv(&dir, &written.results, manifest.baseline.as_deref())?;
    }
    let mut drawn = Vec::new();
    if charts && written.missing.is_empty() && !written.results.runs.is_empty() {
        let options = PlotOptions {
            slo: Some(manifest.slo),
        };
        for file in plot::draw_all(&dir, &options)? {
            if file.extension().is_some_and(|e| e == "svg") {
                if let Some(stem) = file.file_stem() {
                    drawn.push(stem.to_string_lossy().into_owned());
                }
            }
        }
    }
    let planned = origins.runs() - origins.count(Origin::Skip);
    manifest.runs = RunsInfo {
        planned: planned as u64,
        written: written.results.runs.len() as u64,
        failed: written.failed,
        missing: missing_ranges(&written.results.layout, origins, &written.missing),
    };
    manifest.status = match written.missing.is_empty() {
        true => "complete",
        false => "incomplete",
    }
    .to_string();
    manifest.write(&dir)?;
    folder.commit()?;
    Ok(Outcome {
        results: written.results,
        manifest,
        charts: drawn,
        missing: written.missing.len(),
        calls: written.calls,
        events: written.events,
    })
}

/// The missing runs (plan indices, in order) as ranges: consecutive planned runs of
/// one variant that are all missing form one range.
fn missing_ranges(layout: &Layout, origins: &Origins, missing: &[usize]) -> Vec<MissingRuns> {
    let mut ranges: Vec<MissingRuns> = Vec::new();
    let mut next = missing.iter().peekable();
    // Whether the previous planned run was missing too.
    let mut open = false;
    for (index, origin) in origins.iter() {
        if origin == Origin::Skip {
            continue;
        }
        if next.peek() != Some(&&index) {
            open = false;
            continue;
        }
        next.next();
        let (v, seed) = layout.split(index);
        let name = &layout.variants[v];
        match ranges.last_mut() {
            Some(last) if open && last.variant == *name => last.last_seed = seed,
            _ => ranges.push(MissingRuns {
                variant: name.clone(),
                first_seed: seed,
                last_seed: seed,
            }),
        }
        open = true;
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_runs_form_ranges_per_variant() {
        let layout = Layout::new(
            "demo".into(),
            vec!["a".into(), "b".into()],
            vec![],
            vec![vec![], vec![]],
            10,
            4,
        );
        // Shard 1/2: runs 0, 2, 4, 6 (a 10, a 12, b 10, b 12).
        let origins = Origins::new(8, Some(Shard { index: 1, count: 2 }));
        let ranges = missing_ranges(&layout, &origins, &[2, 4, 6]);
        let got: Vec<(&str, u64, u64)> = ranges
            .iter()
            .map(|r| (r.variant.as_str(), r.first_seed, r.last_seed))
            .collect();
        assert_eq!(got, [("a", 12, 12), ("b", 10, 12)]);
        assert!(missing_ranges(&layout, &origins, &[]).is_empty());
    }
}
