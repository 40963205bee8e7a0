//! The `hasim` command line: the only place that prints or exits.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use hasim::experiment::{self, Finished, Plan};
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
        /// The first seed (default: the scenario's `run.seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Number of seeds: seed, seed+1, ..., seed+N-1.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        seeds: u64,
        /// Override a key: `--set clients.web.balancer=p2c` (repeatable).
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
    },
    /// Check scenario files without running them.
    Validate {
        /// The scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// List every policy kind with its parameters, defaults and a description.
    Policies,
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
            seed,
            seeds,
            sets,
            out,
            no_plots,
            jobs,
        } => run(&scenario, seed, seeds, &sets, out, no_plots, jobs),
        Command::Validate { scenarios } => validate(&scenarios),
        Command::Policies => {
            print!("{}", policies_text());
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

fn run(
    path: &Path,
    seed: Option<u64>,
    seeds: u64,
    sets: &[String],
    out: Option<PathBuf>,
    _no_plots: bool,
    jobs: usize,
) -> anyhow::Result<()> {
    let overrides = parse_sets(sets)?;
    let scenario = Scenario::load(path, &overrides).map_err(scenario_error)?;
    let first = seed.unwrap_or(scenario.config.run.seed);
    let plans: Vec<Plan> = experiment::seeds(first, seeds)
        .into_iter()
        .map(|seed| Plan {
            variant: "baseline".to_string(),
            scenario: scenario.clone(),
            seed,
        })
        .collect();
    let out = out.unwrap_or_else(|| Path::new("results").join(&scenario.name));
    let finished = execute(&plans, jobs)?;
    write_outputs(&scenario.name, &out, &finished, seeds > 1)?;
    Ok(())
}

/// Runs the plans with a progress bar on a terminal, and prints the timing line.
fn execute(plans: &[Plan], jobs: usize) -> anyhow::Result<Vec<Finished>> {
    #[allow(clippy::disallowed_methods)] // wall time for the terminal only, never in a CSV
    let started = std::time::Instant::now();
    let bar = (plans.len() > 1 && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(plans.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} runs, eta {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar
    });
    let on_done = |n: u64| {
        if let Some(bar) = &bar {
            bar.set_position(n);
        }
    };
    let finished = experiment::run_plans(plans, jobs, &on_done)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let wall = started.elapsed().as_secs_f64();
    let calls: u64 = finished
        .iter()
        .map(|f| f.output.metrics.summary.calls)
        .sum();
    let events: u64 = finished.iter().map(|f| f.output.events).sum();
    let table = report::summary_table(&records("", &finished));
    println!("{table}");
    println!(
        "{} run(s) in {wall:.2} s wall time: {} calls, {} events, {:.2} M events/s",
        finished.len(),
        group_digits(calls),
        group_digits(events),
        events as f64 / wall.max(1e-9) / 1e6
    );
    Ok(finished)
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

fn write_outputs(
    name: &str,
    out: &Path,
    finished: &[Finished],
    comparison: bool,
) -> anyhow::Result<()> {
    let records = records(name, finished);
    report::write_run_csvs(out, &records)
        .with_context(|| format!("writing results to {}", out.display()))?;
    if comparison {
        report::write_comparison_csv(out, &records)
            .with_context(|| format!("writing comparison.csv to {}", out.display()))?;
    }
    println!("results in {}", out.display());
    Ok(())
}

fn validate(paths: &[PathBuf]) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    for path in paths {
        match Scenario::load(path, &[]) {
            Ok(s) => println!("{}: ok ({})", path.display(), s.name),
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
