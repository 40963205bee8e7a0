//! The parts of the command line that describe hasim rather than run it: output
//! format, long version, shell completions and the man page (both generated from the
//! clap definition, so they cannot fall behind it).

use std::io::Write as _;

/// How a command prints its result on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables and lines for people.
    #[default]
    Text,
    /// One JSON document, for scripts.
    Json,
}

/// `hasim --version`: the version with what a bug report needs next to it.
pub fn long_version() -> &'static str {
    let text = format!(
        "{} (hasim-policy {}, {}-{}; scenario schema: docs/hasim.schema.json; reference: docs/)",
        env!("CARGO_PKG_VERSION"),
        hasim::policy::VERSION,
        std::env::consts::ARCH,
        std::env::consts::OS,
    );
    // Built once per process, for clap, which wants a 'static string.
    Box::leak(text.into_boxed_str())
}

/// `hasim completions SHELL`.
pub fn completions(shell: clap_complete::Shell, command: &mut clap::Command) -> anyhow::Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(shell, command, "hasim", &mut out);
    write_stdout(&out)
}

/// `hasim man`: roff for `man -l`.
pub fn man(command: clap::Command) -> anyhow::Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command).render(&mut out)?;
    write_stdout(&out)
}

/// Writes to stdout; a closed pipe (`hasim man | head`) is not an error.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
