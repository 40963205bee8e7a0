//! Loading tests: every error names the key and the line.

use super::*;

const GOOD: &str = r#"
name = "t"
[run]
duration = "10s"

[[servers]]
group = "api"
count = 2
service = { dist = "exponential", mean = "1ms" }

[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 100 }
"#;

fn load(text: &str, sets: &[&str]) -> Result<Scenario, ScenarioError> {
    let overrides: Vec<Override> = sets
        .iter()
        .map(|s| Override::parse_assignment(s).unwrap())
        .collect();
    Scenario::from_text(Path::new("x.toml"), text, &overrides)
}

/// Loads `text` with `sets` and checks the error's line, key and message.
fn check_error(text: &str, sets: &[&str], line: Option<usize>, key: &str, message: &str) {
    let err = load(text, sets).expect_err("should fail");
    let shown = err.to_string();
    assert_eq!(err.position.map(|p| p.0), line, "line of: {shown}");
    assert_eq!(err.key.as_deref().unwrap_or(""), key, "key of: {shown}");
    assert!(
        shown.contains(message),
        "`{shown}` should contain `{message}`"
    );
}

#[test]
fn good_file_loads_with_defaults() {
    let s = load(GOOD, &[]).unwrap();
    assert_eq!(s.name, "t");
    assert_eq!(s.config.run.seed, 1);
    assert_eq!(s.config.run.slo, 0.999);
    assert_eq!(s.config.servers[0].zone, "default");
    assert_eq!(s.config.clients[0].instances, 1);
}

#[test]
fn errors_name_line_and_key() {
    check_error(
        &GOOD.replace("count = 2", "count = 0"),
        &[],
        Some(8),
        "servers.api.count",
        "must be >= 1",
    );
    check_error(
        &GOOD.replace("count = 2", "cuont = 2"),
        &[],
        Some(8),
        "servers.api.cuont",
        "unknown key `cuont`; did you mean `count`?",
    );
    check_error(
        &GOOD.replace("\"10s\"", "\"10\""),
        &[],
        Some(4),
        "run.duration",
        "no unit",
    );
    check_error(
        &GOOD.replace("target = \"api\"", "target = \"apx\""),
        &[],
        Some(13),
        "clients.web.target",
        "valid: api",
    );
    check_error(
        &GOOD.replace("rate = 100", "rate = -1"),
        &[],
        Some(14),
        "clients.web.arrival.rate",
        "must be > 0",
    );
    check_error(
        &GOOD.replace("poisson", "poison"),
        &[],
        Some(14),
        "clients.web.arrival.process",
        "unknown value `poison`; did you mean `poisson`?",
    );
    check_error(
        &GOOD.replace("[run]", "[run\n"),
        &[],
        Some(3),
        "",
        "not valid TOML",
    );
}

#[test]
fn overrides_are_checked_like_the_file() {
    let s = load(GOOD, &["run.duration=30s", "clients.web.balancer=random"]).unwrap();
    assert_eq!(s.config.run.duration.as_secs(), 30);
    let err = load(GOOD, &["servers.api.count=0"]).unwrap_err();
    assert_eq!(err.origin.as_deref(), Some("--set servers.api.count=0"));
    assert!(err.to_string().contains("must be >= 1"), "{err}");
    let err = load(GOOD, &["clients.web.balancr=p2c"]).unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown key `balancr`; did you mean `balancer`?"),
        "{err}"
    );
    let err = load(GOOD, &["clients.nope.timeout=1s"]).unwrap_err();
    assert!(err.to_string().contains("valid: web"), "{err}");
}

#[test]
fn variants_reload_with_their_overrides() {
    let text = format!("{GOOD}\n[[variants]]\nname = \"rand\"\nset = {{ \"clients.web.balancer\" = \"random\" }}\n");
    let s = load(&text, &[]).unwrap();
    let (name, overrides) = &s.declared_variants()[0];
    assert_eq!(name, "rand");
    let v = s.with_overrides(overrides).unwrap();
    assert_eq!(v.config.clients[0].balancer.kind(), "random");
}

#[test]
fn every_policy_example_loads() {
    let catalog = crate::policy::catalog::all();
    assert!(catalog.len() > 20);
    for p in catalog {
        let text = format!("{GOOD}{}\n", p.example);
        if let Err(e) = load(&text, &[]) {
            panic!("{} {}: `{}`: {e}", p.key, p.kind, p.example);
        }
    }
}

#[test]
fn policies_are_removed_and_chosen_one_way() {
    let s = load(
        &format!("{GOOD}breaker = {{ kind = \"hystrix\" }}\ntimeout = \"1s\"\n"),
        &[
            "clients.web.breaker=none",
            "clients.web.timeout=none",
            "clients.web.limiter=aimd",
        ],
    )
    .unwrap();
    let c = &s.config.clients[0];
    assert!(c.breaker.is_none() && c.timeout.is_none());
    assert!(c.limiter.is_some());
    let s = load(GOOD, &["clients.web.retry=false"]).unwrap();
    assert_eq!(s.config.clients[0].retry.attempts, 1);
}

#[test]
fn zero_service_time_and_empirical_means_are_valid() {
    load(
        &GOOD.replace("{ dist = \"exponential\", mean = \"1ms\" }", "\"0ms\""),
        &[],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.csv"), "1ms\n2ms\n").unwrap();
    let text = GOOD
        .replace(
            "{ dist = \"exponential\", mean = \"1ms\" }",
            "{ dist = \"empirical\", file = \"s.csv\" }",
        )
        .replace(
            "{ process = \"poisson\", rate = 100 }",
            "{ process = \"closed\", concurrency = 2, think = { dist = \"empirical\", file = \"s.csv\" } }",
        );
    Scenario::from_text(&dir.path().join("x.toml"), &text, &[]).unwrap();
}

#[test]
fn nested_and_variant_errors_name_their_place() {
    check_error(
        &format!("{GOOD}retry = {{ attempts = 2, budget = {{ ratio = 0.2 }} }}\n"),
        &["clients.web.retry.budget.ratio=-1"],
        None,
        "clients.web.retry.budget.ratio",
        "(set by --set clients.web.retry.budget.ratio=-1)",
    );
    let text = format!(
        "{GOOD}\n[[variants]]\nname = \"a\"\nset = {{ \"clients.web.retry.attempts\" = 0 }}\n"
    );
    let s = load(&text, &[]).unwrap();
    let err = s.check_variants().unwrap_err();
    let line = err.position.expect("a line").0;
    assert!(
        text.lines().nth(line - 1).unwrap().starts_with("set = "),
        "{err}"
    );
    assert!(err.to_string().contains("variant `a`"), "{err}");
}
