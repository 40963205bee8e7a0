//! The `hasim` command line: the only place that prints or exits.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use hasim::experiment::{self, Finished, Plan, Progress};
use hasim::report::plot::{self, PlotOptions};
use hasim::report::{self, RunRecord};
use hasim::scenario::{Override, Scenario, ScenarioError};

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
        #[command(flatten)]
        common: Common,
    },
    /// Check scenario files without running them.
    Validate {
        /// The scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Redraw the charts of a results folder from its CSV files alone.
    Plot {
        /// The folder (`--out` of an earlier run or compare).
        dir: PathBuf,
        /// The SLO line to draw on the availability chart (not stored in the CSVs).
        #[arg(long)]
        slo: Option<f64>,
    },
    /// List every policy kind with its parameters, defaults and a description.
    Policies,
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
    /// Output folder (default: results/<scenario name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Do not draw charts.
    #[arg(long)]
    no_plots: bool,
    /// Runs at once (default: every core).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
}

impl Common {
    /// `--out`, or `results/<scenario name>`.
    fn out_dir(&self, scenario: &str) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| Path::new("results").join(scenario))
    }
}

/// Invalid scenario or arguments: exits with status 2 (any other error exits with 1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct InvalidInput(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            common,
        } => compare(&scenario, &varies, seeds, &common),
        Command::Validate { scenarios } => validate(&scenarios),
        Command::Plot { dir, slo } => plot_dir(&dir, slo),
        Command::Policies => {
            say!("{}", policies_text().trim_end());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<InvalidInput>() => {
            eprintln!("error: {e}");
            ExitCode::from(2)
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
    hasim::scenario::check_sweep(&scenario.config, scenario.text.len(), 0, [], seeds)
        .map_err(usage)?;
    let first = common.seed.unwrap_or(scenario.config.run.seed);
    let plans: Vec<Plan> = experiment::seeds(first, seeds)
        .into_iter()
        .map(|seed| Plan {
            variant: "baseline".to_string(),
            scenario: scenario.clone(),
            seed,
        })
        .collect();
    let files = if seeds > 1 {
        Outputs::RunSeeds
    } else {
        Outputs::Run
    };
    run_and_report(&scenario, &plans, common, files)
}

fn compare(path: &Path, varies: &[String], seeds: u64, common: &Common) -> anyhow::Result<()> {
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
    let variants =
        experiment::variants(base.declared_variants(), &axes).map_err(|e| usage(e.to_string()))?;
    let first = common.seed.unwrap_or(base.config.run.seed);
    let seeds = experiment::seeds(first, seeds);
    let plans = experiment::plan(&base, &variants, &seeds).map_err(|e| usage(e.to_string()))?;
    run_and_report(&base, &plans, common, Outputs::Compare)
}

/// Runs the plans of `scenario`, prints the tables, writes the files and charts into
/// the output folder, then prints the timing line: the tail `run` and `compare` share.
fn run_and_report(
    scenario: &Scenario,
    plans: &[Plan],
    common: &Common,
    files: Outputs,
) -> anyhow::Result<()> {
    let out = common.out_dir(&scenario.name);
    let max_memory = plans.iter().map(|p| p.scenario.config.run.max_memory).max();
    let jobs = hasim::scenario::check_jobs(common.jobs, max_memory.unwrap_or(0)).map_err(usage)?;
    let (finished, timing) = execute(plans, jobs)?;
    let records = records(&scenario.name, &finished);
    say!("{}", report::summary_table(&records));
    if files == Outputs::Compare {
        say!("{}", report::comparison_table(&records));
    }
    let plots = (!common.no_plots).then_some(PlotOptions {
        slo: Some(scenario.config.run.slo),
    });
    write_outputs(&out, &records, files, plots)?;
    say!("{timing}");
    say!("results in {}", out.display());
    Ok(())
}

/// Runs the plans with a progress bar on a terminal; returns the results in plan
/// order and the timing line (wall time is for the terminal only, never a file).
fn execute(plans: &[Plan], jobs: usize) -> anyhow::Result<(Vec<Finished>, String)> {
    #[allow(clippy::disallowed_methods)] // wall time for the terminal only, never in a CSV
    let started = std::time::Instant::now();
    let progress = Progress::new(plans.len());
    let finished = with_progress(&progress, || experiment::run_plans(plans, jobs, &progress))?;
    let wall = started.elapsed().as_secs_f64();
    let calls: u64 = finished
        .iter()
        .map(|f| f.output.metrics.summary.calls)
        .sum();
    let events: u64 = finished
        .iter()
        .map(|f| f.output.metrics.summary.events)
        .sum();
    let timing = format!(
        "{} run(s) in {wall:.2} s wall time: {} calls, {} events, {:.2} M events/s",
        finished.len(),
        group_digits(calls),
        group_digits(events),
        events as f64 / wall.max(1e-9) / 1e6
    );
    Ok((finished, timing))
}

/// How long the runs may take before the progress bar appears.
const PROGRESS_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

/// Calls `work`. When stderr is a terminal, a progress bar (simulated time done, over
/// every run) appears on stderr once the work has taken longer than
/// [`PROGRESS_DELAY`], and is cleared at the end; otherwise nothing is drawn.
fn with_progress<T>(progress: &Progress, work: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(1000),
        indicatif::ProgressDrawTarget::hidden(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {percent}% {msg}, eta {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    let runs = progress.len();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let result = std::thread::scope(|scope| {
        let bar = &bar;
        scope.spawn(move || {
            let mut shown = false;
            let mut wait = PROGRESS_DELAY;
            while done_rx.recv_timeout(wait) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                bar.set_position(progress.permille());
                bar.set_message(format!("{}/{runs} runs", progress.finished()));
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

fn records<'a>(scenario: &'a str, finished: &'a [Finished]) -> Vec<RunRecord<'a>> {
    finished
        .iter()
        .map(|f| RunRecord {
            scenario,
            variant: &f.variant,
            seed: f.seed,
            metrics: &f.output.metrics,
        })
        .collect()
}

/// Which files a command writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outputs {
    /// `run` with one seed: summary, timeseries, servers, faults.
    Run,
    /// `run --seeds N`, N > 1: also comparison.csv.
    RunSeeds,
    /// `compare`: also comparison.csv and paired.csv.
    Compare,
}

/// Writes the CSV files, then draws the charts from them.
fn write_outputs(
    out: &Path,
    records: &[RunRecord],
    files: Outputs,
    plots: Option<PlotOptions>,
) -> anyhow::Result<()> {
    let context = || format!("writing results to {}", out.display());
    report::write_run_csvs(out, records).with_context(context)?;
    if files != Outputs::Run {
        report::write_comparison_csv(out, records).with_context(context)?;
    }
    if files == Outputs::Compare {
        report::write_paired_csv(out, records).with_context(context)?;
    }
    if let Some(options) = plots {
        draw_charts(out, &options)?;
    }
    Ok(())
}

/// Draws every chart whose CSV inputs are in `out`: after `run` and `compare` (unless
/// `--no-plots`), and for `hasim plot DIR`, which redraws from the CSV files alone.
fn draw_charts(out: &Path, options: &PlotOptions) -> anyhow::Result<()> {
    let files = plot::draw_all(out, options)
        .with_context(|| format!("drawing charts in {}", out.display()))?;
    let svgs: Vec<String> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "svg"))
        .filter_map(|f| f.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    say!("charts: {} (.svg and .png)", svgs.join(", "));
    Ok(())
}

/// `hasim plot DIR`: redraws the charts of an earlier run from its CSV files.
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
    draw_charts(dir, &PlotOptions { slo })
}

fn validate(paths: &[PathBuf]) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    for path in paths {
        match Scenario::load(path, &[]) {
            Ok(s) => say!("{}: ok ({})", path.display(), s.name),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(usage(failures.join("\nerror: ")))
    }
}

/// `1234567` -> `1,234,567`.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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
            out.push_str(&format!("  {:<22} {}\n", "", p.params));
        }
    }
    out
}
