//! Every chart rendered from a fixture folder: two variants, two seeds, a fault.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use super::*;

/// Writes the fixture CSVs into `dir`: 60 one-second windows; `api[0]` crashes from
/// 20 s to 35 s; `round_robin` keeps sending to it (a deep dip), `p2c` routes around
/// it (a shallow one). Extra columns and empty cells on purpose.
pub(crate) fn write_fixture(dir: &Path) {
    let variants = ["round_robin", "p2c"];
    let mut summary = String::from(
        "scenario,variant,seed,calls,availability,latency_p99_ms,attempts_per_call,extra\n",
    );
    let mut series = String::from(
        "variant,seed,t_s,calls,ok,failed,availability,latency_p50_ms,latency_p99_ms,attempts,servers_up,degraded\n",
    );
    let mut servers = String::from(
        "variant,seed,server,group,zone,tier,received,served,rejected,errors,share,utilization,up_fraction\n",
    );
    for (v, variant) in variants.iter().enumerate() {
        for seed in 1..=2u32 {
            let s = f64::from(seed);
            writeln!(
                summary,
                "one-slow-server,{variant},{seed},7200,0.99,12,1.1,x"
            )
            .unwrap();
            for t in 0..60 {
                let during = (20..35).contains(&t);
                let wiggle = ((t * 7 + seed * 3) % 5) as f64 * 0.0001;
                let availability = match (during, v) {
                    (true, 0) => 0.87 + wiggle * 10.0,
                    (true, _) => 0.993 + wiggle,
                    // One window in 20 without a failed call.
                    (false, _) if (t + v as u32) % 20 == 3 => 1.0,
                    (false, _) => 0.9994 - 0.0003 * v as f64 + wiggle,
                };
                let p50 = 1.0 + 0.1 * v as f64 + wiggle * 50.0;
                let p99 = match (during, v) {
                    (true, _) => 45.0 / (1.0 + 3.0 * v as f64),
                    (false, 0) => 4.0 + s * 0.3,
                    (false, _) => 3.2 + s * 0.2,
                };
                // Window 59 of seed 2 had no calls: empty cells.
                if t == 59 && seed == 2 {
                    writeln!(series, "{variant},{seed},{t},0,0,0,,,,0,7,0").unwrap();
                    continue;
                }
                writeln!(
                    series,
                    "{variant},{seed},{t},120,0,0,{availability},{p50},{p99},121,{},0",
                    if during { 7 } else { 8 }
                )
                .unwrap();
            }
            for server in 0..8 {
                let share = match (v, server) {
                    (0, _) => 0.125,
                    (_, 0) => 0.06,
                    _ => 0.94 / 7.0,
                };
                writeln!(
                    servers,
                    "{variant},{seed},api[{server}],api,a,0,900,900,0,0,{share},0.5,1"
                )
                .unwrap();
            }
            // A backup server outside the load spread: empty share, not drawn.
            writeln!(
                servers,
                "{variant},{seed},backup[0],backup,b,1,0,0,0,0,,0,1"
            )
            .unwrap();
        }
    }
    let faults = "variant,seed,fault,kind,target,start_s,end_s,calls_failed,time_to_drain_s,time_to_recover_s\n\
        round_robin,1,0,crash,api[0],20,35,900,,16\n\
        round_robin,2,0,crash,api[0],20,35,910,,16\n\
        p2c,1,0,crash,api[0],20,35,50,0.2,2\n\
        p2c,2,0,crash,api[0],20,35,52,0.2,2\n";
    let mut comparison = String::from("variant,metric,mean,stddev,ci95_low,ci95_high,runs\n");
    for (variant, a, p99, apc, load) in [
        ("round_robin", 0.972, 14.1, 1.02, 1.01),
        ("p2c", 0.9978, 6.2, 1.08, 1.22),
    ] {
        for (metric, mean, half) in [
            ("calls", 7200.0, 40.0),
            ("availability", a, 0.004),
            ("latency_p99_ms", p99, 1.5),
            ("attempts_per_call", apc, 0.01),
            ("load_max_over_mean", load, 0.05),
        ] {
            let (low, high) = (mean - half, mean + half);
            writeln!(comparison, "{variant},{metric},{mean},0.1,{low},{high},2").unwrap();
        }
        writeln!(comparison, "{variant},latency_p999_ms,,,,,0").unwrap();
    }
    fs::write(dir.join("summary.csv"), summary).unwrap();
    fs::write(dir.join("timeseries.csv"), series).unwrap();
    fs::write(dir.join("servers.csv"), servers).unwrap();
    fs::write(dir.join("faults.csv"), faults).unwrap();
    fs::write(dir.join("comparison.csv"), comparison).unwrap();
}

const OPTIONS: PlotOptions = PlotOptions { slo: Some(0.999) };

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(bytes);
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    (info.width, info.height)
}

/// Distinct colors in a PNG (8-bit RGB).
fn distinct_colors(bytes: &[u8]) -> usize {
    let mut reader = png::Decoder::new(bytes).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    let mut colors: Vec<[u8; 3]> = pixels[..frame.buffer_size()]
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    colors.sort_unstable();
    colors.dedup();
    colors.len()
}

#[test]
fn every_chart_renders_as_svg_and_png() {
    let tmp = tempfile::tempdir().unwrap();
    write_fixture(tmp.path());
    let written = draw_all(tmp.path(), &OPTIONS).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let charts = ["availability", "latency", "load", "comparison"];
    let expected: Vec<String> = charts
        .iter()
        .flat_map(|c| [format!("{c}.svg"), format!("{c}.png")])
        .collect();
    assert_eq!(names, expected);

    let texts: [&[&str]; 4] = [
        &[
            "availability per window",
            "time since start of measurement (s)",
            "availability (ok / calls, nines scale)",
            "SLO 99.9%",
            "crash api[0]",
            "mean over 2 seeds",
        ],
        &[
            "latency per window",
            "latency of ok calls (ms",
            "p99 (solid)",
            "p50 (dashed)",
            "round_robin",
        ],
        &[
            "load per server",
            "share of attempts (%)",
            "api[7]",
            "even share (12.5%)",
        ],
        &[
            "variants compared",
            "p99 latency of ok calls (ms)",
            "95% confidence interval",
        ],
    ];
    for (chart, expected_texts) in charts.iter().zip(texts) {
        let svg = fs::read_to_string(tmp.path().join(format!("{chart}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{chart}: {}", &svg[..40]);
        assert!(svg.trim_end().ends_with("</svg>"), "{chart}");
        assert!(svg.len() > 5_000, "{chart}: {} bytes", svg.len());
        assert!(
            svg.contains("one-slow-server"),
            "{chart}: title names the scenario"
        );
        for text in expected_texts {
            assert!(svg.contains(text), "{chart}: {text:?} missing");
        }
        let png = fs::read(tmp.path().join(format!("{chart}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{chart}");
        assert_eq!(png_size(&png), style::SIZE, "{chart}");
        let colors = distinct_colors(&png);
        assert!(colors > 50, "{chart}: only {colors} colors");
    }
    // The backup server has no share: not drawn.
    let load = fs::read_to_string(tmp.path().join("load.svg")).unwrap();
    assert!(!load.contains("backup[0]"));
    // No temporary file is left behind.
    let hidden = fs::read_dir(tmp.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(hidden, 0);
}

#[test]
fn same_input_gives_identical_files() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_fixture(one.path());
    write_fixture(two.path());
    let first = draw_all(one.path(), &OPTIONS).unwrap();
    draw_all(two.path(), &OPTIONS).unwrap();
    draw_all(two.path(), &OPTIONS).unwrap();
    for path in first {
        let name = path.file_name().unwrap();
        let (a, b) = (
            fs::read(&path).unwrap(),
            fs::read(two.path().join(name)).unwrap(),
        );
        assert!(a == b, "{name:?} differs");
    }
}

#[test]
fn only_the_charts_whose_inputs_exist() {
    let tmp = tempfile::tempdir().unwrap();
    write_fixture(tmp.path());
    fs::remove_file(tmp.path().join("timeseries.csv")).unwrap();
    fs::remove_file(tmp.path().join("faults.csv")).unwrap();
    // One variant in comparison.csv (`run --seeds N`): no comparison chart.
    let text = fs::read_to_string(tmp.path().join("comparison.csv")).unwrap();
    let one: String = text
        .lines()
        .filter(|l| !l.starts_with("p2c"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(tmp.path().join("comparison.csv"), one).unwrap();
    let written = draw_all(tmp.path(), &PlotOptions::default()).unwrap();
    let names: Vec<_> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["load.svg", "load.png"]);
    // Asked for by name, it is drawn all the same.
    assert_eq!(draw_comparison(tmp.path()).unwrap().len(), 2);
}

#[test]
fn errors_name_the_file_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let err = draw_all(tmp.path(), &OPTIONS).unwrap_err();
    assert!(matches!(err, PlotError::NoInputs { .. }), "{err}");

    fs::write(
        tmp.path().join("servers.csv"),
        "variant,seed,server\np2c,1,api[0]\n",
    )
    .unwrap();
    let err = draw_all(tmp.path(), &OPTIONS).unwrap_err();
    assert!(
        err.to_string()
            .contains("servers.csv has no column `share`"),
        "{err}"
    );

    fs::write(
        tmp.path().join("servers.csv"),
        "variant,seed,server,share\np2c,1,api[0],half\n",
    )
    .unwrap();
    let err = draw_all(tmp.path(), &OPTIONS).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("servers.csv:2: column `share`"),
        "{message}"
    );
}

#[test]
fn a_run_without_summary_or_faults_still_draws() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("my-scenario");
    fs::create_dir(&dir).unwrap();
    write_fixture(&dir);
    fs::remove_file(dir.join("summary.csv")).unwrap();
    fs::remove_file(dir.join("faults.csv")).unwrap();
    draw_availability(&dir, &PlotOptions::default()).unwrap();
    let svg = fs::read_to_string(dir.join("availability.svg")).unwrap();
    // The folder names the scenario; no SLO line, no fault label.
    assert!(svg.contains("my-scenario: availability per window"));
    assert!(!svg.contains("SLO") && !svg.contains("crash"));
}

/// Writes the fixture's charts to `HASIM_PLOT_FIXTURE_DIR` (to look at them), else
/// to a temporary folder; either way they must draw.
#[test]
fn fixture_charts_for_review() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("HASIM_PLOT_FIXTURE_DIR")
        .map_or_else(|| tmp.path().to_path_buf(), std::path::PathBuf::from);
    fs::create_dir_all(&dir).unwrap();
    write_fixture(&dir);
    assert_eq!(draw_all(&dir, &OPTIONS).unwrap().len(), 8);
}
