//! A `[[clients]]` table's text to a [`ClientConfig`].
//!
//! A scenario's `[[clients]]` table holds the client's policies plus four keys that
//! only mean something to the simulator (who calls, how often, how many instances).
//! A real client reads the same table, drops those four, and rejects anything else it
//! does not know, so a typo is caught here exactly as `hasim run` catches it.

use hasim_policy::client::ClientConfig;

/// Keys of a scenario's `[[clients]]` table that only the simulator uses: accepted
/// and ignored by [`client_config_from_toml`].
pub const SIMULATION_ONLY_KEYS: [&str; 4] = ["name", "instances", "target", "arrival"];

/// Why a `[[clients]]` table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not TOML, an unknown key, or a value of the wrong type. The message names the
    /// key and shows its line.
    #[error("invalid [[clients]] table: {0}")]
    Toml(#[from] toml::de::Error),
    /// A value outside its valid range (the message names the policy and the key).
    #[error("invalid [[clients]] table: {0}")]
    Invalid(#[from] hasim_policy::ConfigError),
}

/// Reads the body of one `[[clients]]` table (the lines after the header, or the
/// same keys as a standalone document): the simulation-only keys
/// ([`SIMULATION_ONLY_KEYS`]) are ignored, unknown keys are rejected, and every value
/// is validated as `hasim run` validates it.
///
/// ```
/// let config = hasim_tower::client_config_from_toml(r#"
///     name = "web"
///     target = "api"
///     arrival = { process = "poisson", rate = 100 }
///     timeout = "50ms"
///     balancer = "p2c"
///     retry = { attempts = 3 }
/// "#)?;
/// assert_eq!(config.timeout, Some(std::time::Duration::from_millis(50)));
/// # Ok::<(), hasim_tower::ConfigError>(())
/// ```
pub fn client_config_from_toml(text: &str) -> Result<ClientConfig, ConfigError> {
    let with_input = |mut e: toml::de::Error| {
        e.set_input(Some(text));
        e
    };
    let mut table = toml::de::DeTable::parse(text).map_err(with_input)?;
    let all = std::mem::take(table.get_mut());
    for (key, value) in all {
        let name: &str = key.get_ref();
        if !SIMULATION_ONLY_KEYS.contains(&name) {
            table.get_mut().insert(key, value);
        }
    }
    let config: ClientConfig =
        serde::Deserialize::deserialize(toml::de::Deserializer::from(table)).map_err(with_input)?;
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_simulation_keys_and_rejects_unknown_ones() {
        let ok = client_config_from_toml(
            "name = \"web\"\ninstances = 4\ntarget = [\"a\", \"b\"]\narrival = { process = \"poisson\", rate = 5 }\nretry = { attempts = 2 }\n",
        )
        .unwrap();
        assert_eq!(ok.retry.attempts, 2);
        let err = client_config_from_toml("timeout = \"5ms\"\ntimout = \"5ms\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("timout"), "{text}");
        assert!(text.contains("line 2"), "{text}");
        let err = client_config_from_toml("timeout = \"0s\"\n").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid(_)), "{err}");
    }
}
