//! The `hasim` command line: the only place that prints or exits.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use hasim::experiment::{self, Outcome, Progress, Shard, Sweep, SweepError, SweepOptions};
use hasim::report::plot::{self, PlotOptions};
use hasim::report::{self, Manifest};
use hasim::scenario::{Override, Scenario, ScenarioError};

#[path = "cli/extras.rs"]
mod extras;
#[path = "cli/json.rs"]
mod json;

use extras::Format;

/// Deterministic discrete-event simulator of RPC high availability.
#[derive(Parser)]
#[command(name = "hasim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario as written, once per seed, and write CSV files.
    Run {
        /// The scenario file.
        scenario: PathBuf,
        /// Number of seeds: seed, seed+1, ..., seed+N-1.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        seeds: u64,
        #[command(flatten)]
        common: Common,
    },
    /// Run every variant for every seed and compare them (comparison.csv, paired.csv).
    ///
    /// Variants come from `[[variants]]` in the file and from `--vary` axes; with
    /// both, each file variant is crossed with every combination of the axes.
    Compare {
        /// The scenario file.
        scenario: PathBuf,
        /// An axis of values to compare: `--vary clients.web.balancer=round_robin,p2c`
        /// (repeatable; several axes form their cartesian product). Values are TOML,
        /// split on commas outside braces, brackets and quotes.
        #[arg(long = "vary", value_name = "KEY=V1,V2,...")]
        varies: Vec<String>,
        /// Number of seeds, shared by every variant so that runs can be paired.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        seeds: u64,
        /// Run only the --vary product, not crossed with the file's [[variants]].
        #[arg(long)]
        no_file_variants: bool,
        /// The variant paired.csv compares every other variant with (default: the
        /// first).
        #[arg(long, value_name = "VARIANT")]
        baseline: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Combine the folders of one sweep's shards (--shard K/N) into the files one
    /// machine would write.
    Merge {
        /// The shard folders, in any order.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The merged folder.
        #[arg(long)]
        out: PathBuf,
        /// Do not draw charts.
        #[arg(long)]
        no_plots: bool,
        /// Replace --out even if it holds files hasim did not write.
        #[arg(long)]
        force: bool,
    },
    /// Check scenario files without running them (their `[[variants]]` included).
    Validate {
        /// The scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// `text`, or `json` for scripts.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Redraw the charts of a results folder from its CSV files and manifest.
    Plot {
        /// The folder (`--out` of an earlier run or compare).
        dir: PathBuf,
        /// The SLO line to draw on the availability chart (default: the manifest's).
        #[arg(long)]
        slo: Option<f64>,
    },
    /// List every policy kind with its parameters, defaults, a description and how
    /// to write it.
    Policies {
        /// `text`, or `json` for scripts.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the JSON Schema of scenario files (docs/hasim.schema.json), for editors.
    Schema,
    /// Print a shell completion script: `hasim completions bash > ~/.local/share/bash-completion/completions/hasim`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `hasim man > hasim.1 && man ./hasim.1`.
    Man,
    /// Run a scenario on real sockets on 127.0.0.1 in real time (same CSV files).
    Live {
        /// The scenario file.
        scenario: PathBuf,
        /// Also run the simulator over `--sim-seeds` seeds and print both side by side.
        #[arg(long)]
        against_sim: bool,
        /// Seeds of the simulator for `--against-sim`.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..=10_000))]
        sim_seeds: u64,
        #[command(flatten)]
        common: Common,
    },
}

/// Writes a line to stdout; a closed pipe (`hasim run ... | head`) is not an error:
/// the results are already on disk, so there is nothing to report.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Options `run` and `compare` share.
#[derive(clap::Args)]
struct Common {
    /// The first seed (default: the scenario's `run.seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Override a key: `--set clients.web.balancer=p2c` (repeatable; for `compare`, in
    /// every variant).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Output folder (default: results/<scenario file name without .toml>). The run
    /// owns it: files of an earlier run there are replaced.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Do not draw charts.
    #[arg(long)]
    no_plots: bool,
    /// Runs at once (0 or absent: every core; at most 1024).
    #[arg(long, default_value_t = 0, hide_default_value = true, value_parser = clap::value_parser!(u64).range(0..=1024))]
    jobs: u64,
    /// Run only the K-th of N slices of the (variant, seed) plan; combine the N
    /// folders with `hasim merge`.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Keep the runs an interrupted sweep into --out finished and run the rest.
    #[arg(long)]
    resume: bool,
    /// Replace --out even if it holds files hasim did not write.
    #[arg(long)]
    force: bool,
    /// `text`, or `json`: the summary rows, output folder and files as one JSON
    /// document on stdout (the tables are not printed).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

impl Common {
    /// `--out`, or `results/<file stem>`.
    fn out_dir(&self, scenario: &Path) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| Path::new("results").join(default_folder(scenario)))
    }

    /// Worker threads: `--jobs`, or every core.
    fn workers(&self) -> usize {
        match self.jobs {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n as usize,
        }
    }
}

/// The default output folder's name: the scenario file's name without `.toml`,
/// restricted to letters, digits, `-`, `_` and `.` (anything else becomes `_`, leading
/// dots are dropped), so it always names one visible folder inside `results/`.
fn default_folder(scenario: &Path) -> String {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clean: String = stem
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || "-_.".contains(c) {
            true => c,
            false => '_',
        })
        .take(100)
        .collect();
    // No leading dot: no hidden folder, and never `.` or `..`.
    match clean.trim_start_matches('.') {
        "" => "scenario".to_string(),
        rest => rest.to_string(),
    }
}

/// The sweep was stopped (Ctrl-C, SIGTERM): exits with status 130.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Interrupted(String);

/// Invalid scenario or arguments: exits with status 2 (any other error exits with 1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct InvalidInput(String);

fn main() -> ExitCode {
    let matches = Cli::command()
        .long_version(extras::long_version())
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Run {
            scenario,
            seeds,
            common,
        } => run(&scenario, seeds, &common),
        Command::Compare {
            scenario,
            varies,
            seeds,
            no_file_variants,
            baseline,
            common,
        } => compare(
            &scenario,
            &varies,
            seeds,
            no_file_variants,
            baseline,
            &common,
        ),
        Command::Merge {
            dirs,
            out,
            no_plots,
            force,
        } => merge(&dirs, &out, no_plots, force),
        Command::Validate { scenarios, format } => validate(&scenarios, format),
        Command::Plot { dir, slo } => plot_dir(&dir, slo),
        Command::Live {
            scenario,
            against_sim,
            sim_seeds,
            common,
        } => live(&scenario, against_sim.then_some(sim_seeds), &common),
        Command::Policies { format } => {
            match format {
                Format::Text => say!("{}", policies_text().trim_end()),
                Format::Json => say!("{:#}", json::policies()),
            }
            Ok(())
        }
        Command::Schema => {
            say!("{}", hasim::scenario::json_schema_text());
            Ok(())
        }
        Command::Completions { shell } => extras::completions(shell, &mut Cli::command()),
        Command::Man => extras::man(Cli::command()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<InvalidInput>() => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) if e.is::<Interrupted>() => {
            eprintln!("{e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(InvalidInput(message.into()))
}

fn scenario_error(e: ScenarioError) -> anyhow::Error {
    usage(e.to_string())
}

/// Parses every `--set`.
fn parse_sets(sets: &[String]) -> anyhow::Result<Vec<Override>> {
    sets.iter()
        .map(|s| Override::parse_assignment(s).map_err(|e| usage(format!("--set: {e}"))))
        .collect()
}

fn run(path: &Path, seeds: u64, common: &Common) -> anyhow::Result<()> {
    let overrides = parse_sets(&common.sets)?;
    let scenario = Scenario::load(path, &overrides).map_err(scenario_error)?;
    if !scenario.config.variants.is_empty() {
        eprintln!(
            "note: {} declares {} variant(s); `run` runs the scenario as written, `hasim compare {}` runs them",
            path.display(),
            scenario.config.variants.len(),
            path.display()
        );
    }
    hasim::scenario::check_sweep(&scenario.config, scenario.text.len(), 0, [], seeds)
        .map_err(usage)?;
    let first = common.seed.unwrap_or(scenario.config.run.seed);
    run_and_report(Sweep::single(scenario, first, seeds), path, common, None)
}

/// `hasim live`: the scenario on real sockets, written like a `run` (variant `live`);
/// with `--against-sim`, also simulated over `sim_seeds` seeds and compared.
fn live(path: &Path, sim_seeds: Option<u64>, common: &Common) -> anyhow::Result<()> {
    let overrides = parse_sets(&common.sets)?;
    let scenario = Scenario::load(path, &overrides).map_err(scenario_error)?;
    hasim::live::check(&scenario).map_err(|e| usage(e.to_string()))?;
    if common.shard.is_some() || common.resume {
        return Err(usage(
            "`hasim live` makes one real run: --shard and --resume do not apply",
        ));
    }
    hasim::report::folder::check_target(&common.out_dir(path), common.force)
        .map_err(|e| usage(e.to_string()))?;
    let seed = common.seed.unwrap_or(scenario.config.run.seed);
    let real = scenario.config.run.warmup + scenario.config.run.duration;
    eprintln!(
        "live run on 127.0.0.1: about {:.0} s of real time",
        real.as_secs_f64()
    );
    let metrics = hasim::live::run(&scenario, seed).map_err(|e| {
        if e.is_user_error() {
            usage(e.to_string())
        } else {
            anyhow::Error::new(e)
        }
    })?;
    if let Some(n) = sim_seeds {
        let sims = simulate_seeds(&scenario, seed, n, common.workers())?;
        let rows = hasim::live::against::compare(&metrics, &sims);
        say!("{}", hasim::live::against::table(&rows, sims.len()));
    }
    let sweep = Sweep::measured(scenario, seed, "live", metrics);
    run_and_report(sweep, path, common, None)
}

/// The simulator's runs of `scenario` for seeds `first..first + n`, in seed order, on
/// `jobs` threads (for `live --against-sim`; nothing is written).
fn simulate_seeds(
    scenario: &Scenario,
    first: u64,
    n: u64,
    jobs: usize,
) -> anyhow::Result<Vec<hasim::metrics::RunMetrics>> {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("starting the simulator's threads")?;
    pool.install(|| {
        (first..first.saturating_add(n))
            .into_par_iter()
            .map(|seed| {
                hasim::sim::run(scenario, seed)
                    .map(|output| output.metrics)
                    .with_context(|| format!("simulating seed {seed}"))
            })
            .collect()
    })
}

fn compare(
    path: &Path,
    varies: &[String],
    seeds: u64,
    no_file_variants: bool,
    baseline: Option<String>,
    common: &Common,
) -> anyhow::Result<()> {
    let overrides = parse_sets(&common.sets)?;
    let axes = varies
        .iter()
        .map(|v| experiment::parse_vary(v).map_err(|e| usage(e.to_string())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let base = Scenario::load(path, &overrides).map_err(scenario_error)?;
    let lengths = axes.iter().map(|a| a.values.len());
    hasim::scenario::check_sweep(
        &base.config,
        base.text.len(),
        base.config.variants.len(),
        lengths,
        seeds,
    )
    .map_err(usage)?;
    let variants = experiment::variants(base.declared_variants(), &axes, !no_file_variants)
        .map_err(|e| usage(e.to_string()))?;
    let first = common.seed.unwrap_or(base.config.run.seed);
    if let Some(name) = baseline
        .as_ref()
        .filter(|b| !variants.iter().any(|v| &v.name == *b))
    {
        let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
        return Err(usage(format!(
            "--baseline `{name}` is not a variant; the variants are: {}",
            names.join(", ")
        )));
    }
    let sweep =
        Sweep::compare(base, axes, variants, first, seeds).map_err(|e| usage(e.to_string()))?;
    run_and_report(sweep, path, common, baseline)
}

fn sweep_error(e: SweepError) -> anyhow::Error {
    match e.is_usage() {
        true => usage(e.to_string()),
        false => anyhow::Error::new(e),
    }
}

/// Runs a sweep into its output folder, prints the tables, then the timing line:
/// the tail `run` and `compare` share.
fn run_and_report(
    sweep: Sweep,
    path: &Path,
    common: &Common,
    baseline: Option<String>,
) -> anyhow::Result<()> {
    let max_memory = sweep
        .scenarios
        .iter()
        .map(|s| s.config.run.max_memory)
        .max();
    let jobs = match hasim::scenario::check_jobs(common.jobs as usize, max_memory.unwrap_or(0))
        .map_err(usage)?
    {
        0 => common.workers(),
        n => n,
    };
    let options = SweepOptions {
        out: common.out_dir(path),
        jobs,
        shard: common.shard,
        resume: common.resume,
        force: common.force,
        charts: !common.no_plots,
        command: std::env::args().collect(),
        baseline,
    };
    let out = options.out.clone();
    let jobs = options.jobs;
    let measured = sweep.is_measured();
    let prepared = experiment::run_sweep(Arc::new(sweep), options).map_err(sweep_error)?;
    let stop = stop_on_signals();
    let progress = Arc::new(Progress::new(prepared.todo(), jobs));
    #[allow(clippy::disallowed_methods)] // wall time for the terminal only, never in a CSV
    let started = std::time::Instant::now();
    let outcome = with_progress(&progress, || prepared.execute(progress.clone(), stop))
        .map_err(sweep_error)?;
    let wall = started.elapsed().as_secs_f64();
    // A live run has no simulator events: its line says what was measured.
    let timing = if measured {
        format!(
            "live run on 127.0.0.1: {} calls measured",
            hasim::sim::thousands(outcome.calls)
        )
    } else {
        format!(
            "{} run(s) in {wall:.2} s wall time: {} calls, {} events, {:.2} M events/s",
            progress.finished(),
            hasim::sim::thousands(outcome.calls),
            hasim::sim::thousands(outcome.events),
            outcome.events as f64 / wall.max(1e-9) / 1e6
        )
    };
    let text = common.format == Format::Text;
    if text {
        report_outcome(&outcome, &out)?;
        say!("{timing}");
    } else if outcome.missing == 0 {
        say!("{:#}", json::run_summary(&out, &timing)?);
    }
    finish_line(&outcome, &out, text)
}

/// Prints the tables and the charts line of a finished sweep or merge.
fn report_outcome(outcome: &Outcome, out: &Path) -> anyhow::Result<()> {
    let results = &outcome.results;
    if results.runs.is_empty() {
        return Ok(());
    }
    say!("{}", report::summary_table(results));
    let key = report::variant_key(results);
    if !key.is_empty() {
        say!("{}", key.trim_end());
    }
    if outcome.manifest.kind == "compare" && outcome.manifest.shard.is_none() {
        say!("{}", report::comparison_table(results));
    }
    if !outcome.charts.is_empty() {
        say!("charts: {} (.svg and .png)", outcome.charts.join(", "));
    }
    let _ = out;
    Ok(())
}

/// The last line (unless `text` is false: `--format json` printed the folder), and the
/// exit status: interrupted (130), runs failed (1), or fine.
fn finish_line(outcome: &Outcome, out: &Path, text: bool) -> anyhow::Result<()> {
    let runs = &outcome.manifest.runs;
    if outcome.missing > 0 {
        return Err(anyhow::Error::new(Interrupted(format!(
            "stopped: {} of {} runs are in {} (manifest.json says incomplete); run the same \
             command with --resume to finish the rest",
            runs.written,
            runs.planned,
            out.display()
        ))));
    }
    match outcome.manifest.shard {
        _ if !text => {}
        Some(shard) => say!(
            "shard {}/{}: {} runs in {}; combine the shards with `hasim merge DIR... --out DIR`",
            shard.index,
            shard.count,
            runs.written,
            out.display()
        ),
        None => say!("results in {}", out.display()),
    }
    if runs.failed.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = runs
        .failed
        .iter()
        .take(5)
        .map(|f| format!("variant `{}`, seed {}: {}", f.variant, f.seed, f.error))
        .collect();
    anyhow::bail!(
        "{} of {} runs failed (status `failed` in summary.csv; the others are kept):\n  {}",
        runs.failed.len(),
        runs.written,
        shown.join("\n  ")
    )
}

/// `hasim merge DIR... --out DIR`.
fn merge(dirs: &[PathBuf], out: &Path, no_plots: bool, force: bool) -> anyhow::Result<()> {
    let command = std::env::args().collect();
    let outcome = experiment::merge(dirs, out, force, !no_plots, command).map_err(sweep_error)?;
    report_outcome(&outcome, out)?;
    if outcome.missing > 0 {
        say!(
            "{} of {} runs found; {} is incomplete (--resume with the sweep's command \
             finishes it)",
            outcome.manifest.runs.written,
            outcome.manifest.runs.planned,
            out.display()
        );
        return Ok(());
    }
    finish_line(&outcome, out, true)
}

/// Ctrl-C and SIGTERM set the returned flag: the sweep stops starting runs and writes
/// the ones that finished. A second signal removes the temporary output folder and
/// exits at once.
fn stop_on_signals() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let count = AtomicUsize::new(0);
    let installed = ctrlc::set_handler(move || {
        if count.fetch_add(1, Ordering::SeqCst) == 0 {
            flag.store(true, Ordering::SeqCst);
            eprintln!(
                "\nstopping: writing the runs that finished (press Ctrl-C again to quit at once)"
            );
        } else {
            report::folder::remove_temporaries();
            std::process::exit(130);
        }
    });
    if let Err(e) = installed {
        eprintln!("warning: Ctrl-C will not keep finished runs: {e}");
    }
    stop
}

/// How long the runs may take before the progress bar appears.
const PROGRESS_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

/// Calls `work`. When stderr is a terminal, a progress bar (simulated time done, over
/// every run, with an ETA from the work completed so far) appears on stderr once the
/// work has taken longer than [`PROGRESS_DELAY`], and is cleared at the end;
/// otherwise nothing is drawn.
fn with_progress<T>(progress: &Progress, work: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(1000),
        indicatif::ProgressDrawTarget::hidden(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let runs = progress.total();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let result = std::thread::scope(|scope| {
        let bar = &bar;
        scope.spawn(move || {
            #[allow(clippy::disallowed_methods)] // wall time for the terminal only
            let started = std::time::Instant::now();
            let mut shown = false;
            let mut wait = PROGRESS_DELAY;
            while done_rx.recv_timeout(wait) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                let fraction = progress.fraction();
                bar.set_position((fraction * 1000.0) as u64);
                bar.set_message(format!(
                    "{:.1}% {}/{runs} runs, eta {}",
                    fraction * 100.0,
                    progress.finished(),
                    eta(started.elapsed().as_secs_f64(), fraction)
                ));
                if !shown {
                    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                    shown = true;
                    wait = std::time::Duration::from_millis(200);
                }
            }
        });
        let result = work();
        drop(done_tx);
        result
    });
    bar.finish_and_clear();
    result
}

/// The time left if the rest goes at the average pace so far: `elapsed` seconds for
/// `fraction` of the work. Unknown (`?`) until some work is done.
fn eta(elapsed: f64, fraction: f64) -> String {
    if fraction <= 0.0 || elapsed < 1.0 {
        return "?".to_string();
    }
    let left = (elapsed * (1.0 - fraction) / fraction).round() as u64;
    match left {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Draws every chart whose CSV inputs are in `out`, for `hasim plot DIR`.
fn draw_charts(out: &Path, options: &PlotOptions) -> anyhow::Result<()> {
    let files = plot::draw_all(out, options).map_err(|e| match e {
        plot::PlotError::NoInputs { .. } => usage(e.to_string()),
        e => anyhow::Error::new(e).context(format!("drawing charts in {}", out.display())),
    })?;
    let svgs: Vec<String> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "svg"))
        .filter_map(|f| f.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    say!("charts: {} (.svg and .png)", svgs.join(", "));
    Ok(())
}

/// `hasim plot DIR`: redraws the charts of an earlier run from its CSV files, with
/// the SLO from its manifest, and lists them in the manifest. A path that is not a
/// folder and a folder without results are both invalid input (exit 2).
fn plot_dir(dir: &Path, slo: Option<f64>) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Err(usage(format!(
            "{}: not a folder of hasim results",
            dir.display()
        )));
    }
    if let Some(slo) = slo.filter(|s| !(0.0..=1.0).contains(s)) {
        return Err(usage(format!("--slo {slo} is not in [0, 1]")));
    }
    let manifest = Manifest::read(dir).map_err(|e| usage(e.to_string()))?;
    let slo = slo.or(manifest.as_ref().map(|m| m.slo));
    draw_charts(dir, &PlotOptions { slo })?;
    if let Some(mut manifest) = manifest {
        manifest
            .write(dir)
            .with_context(|| format!("updating {}", dir.join("manifest.json").display()))?;
    }
    Ok(())
}

/// Loads each file and each of its `[[variants]]`, exactly as `compare` would.
fn validate(paths: &[PathBuf], format: Format) -> anyhow::Result<()> {
    let results: Vec<(String, Result<String, String>)> = paths
        .iter()
        .map(|path| {
            let checked = Scenario::load(path, &[])
                .and_then(|s| s.check_variants().map(|()| s.name))
                .map_err(|e| e.to_string());
            (path.display().to_string(), checked)
        })
        .collect();
    let failures: Vec<&str> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().err().map(String::as_str))
        .collect();
    match format {
        Format::Json => say!("{:#}", json::validation(&results)),
        Format::Text => {
            for (file, result) in &results {
                if let Ok(name) = result {
                    say!("{file}: ok ({name})");
                }
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(usage(failures.join("\nerror: ")))
    }
}

/// The policy catalog, grouped by client key.
fn policies_text() -> String {
    let mut out = String::new();
    let mut last_key = "";
    for p in hasim::policy::catalog::all() {
        if p.key != last_key {
            out.push_str(&format!("\n{}\n", p.key));
            last_key = p.key;
        }
        let name = if p.kind.is_empty() {
            "(parameters)"
        } else {
            p.kind
        };
        out.push_str(&format!("  {name:<22} {}\n", p.about));
        if !p.params.is_empty() {
            out.push_str(&format!("  {:<22} defaults: {}\n", "", p.params));
        }
        out.push_str(&format!("  {:<22} example:  {}\n", "", p.example));
    }
    out
}
