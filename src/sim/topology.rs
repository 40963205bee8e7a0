//! The scenario resolved once into ids: which groups each client population targets,
//! which groups any client targets, and the group the autoscaler scales. Group names
//! are matched here and nowhere else, so no string reaches the running simulator.

use super::ids::GroupId;
use crate::scenario::{ScenarioFile, ServerGroupConfig};

/// The static shape of a run.
#[derive(Debug)]
pub struct Topology {
    /// Each group's configuration, by [`GroupId`].
    pub groups: Vec<ServerGroupConfig>,
    /// Each client population's target groups, by population, in group order.
    pub targets: Vec<Vec<GroupId>>,
    /// Whether some client population targets the group, by [`GroupId`].
    pub targeted: Vec<bool>,
    /// The group `[autoscale]` scales, if any.
    pub autoscaled: Option<GroupId>,
}

impl Topology {
    /// Resolves the group names of `cfg` (validated at load time: every target and
    /// the autoscaled group name a group).
    pub fn resolve(cfg: &ScenarioFile) -> Topology {
        let group_of = |name: &str| {
            cfg.servers
                .iter()
                .position(|g| g.group == name)
                .map(|g| GroupId(g as u32))
        };
        let targets: Vec<Vec<GroupId>> = cfg
            .clients
            .iter()
            .map(|c| {
                (0..cfg.servers.len() as u32)
                    .map(GroupId)
                    .filter(|g| c.target.0.contains(&cfg.servers[g.index()].group))
                    .collect()
            })
            .collect();
        let mut targeted = vec![false; cfg.servers.len()];
        for g in targets.iter().flatten() {
            targeted[g.index()] = true;
        }
        Topology {
            groups: cfg.servers.clone(),
            targets,
            targeted,
            autoscaled: cfg.autoscale.as_ref().and_then(|a| group_of(&a.group)),
        }
    }

    /// The configuration of group `g`.
    #[inline]
    pub fn group(&self, g: GroupId) -> &ServerGroupConfig {
        &self.groups[g.index()]
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn names_become_group_ids_once() {
        let text = r#"
name = "topology"
[run]
duration = "1s"
[[servers]]
group = "api"
count = 2
service = "1ms"
[[servers]]
group = "spare"
count = 1
service = "1ms"
[[servers]]
group = "db"
count = 1
service = "1ms"
[[clients]]
name = "web"
target = ["db", "api"]
arrival = { process = "poisson", rate = 100 }
[[clients]]
name = "batch"
target = "db"
arrival = { process = "poisson", rate = 10 }
[discovery]
kind = "registry"
[autoscale]
group = "api"
max = 4
"#;
        let cfg = Scenario::from_text(Path::new("x.toml"), text, &[])
            .expect("valid")
            .config;
        let t = Topology::resolve(&cfg);
        // Targets in group order, whatever order the file lists them in.
        assert_eq!(t.targets, [vec![GroupId(0), GroupId(2)], vec![GroupId(2)]]);
        assert_eq!(t.targeted, [true, false, true]);
        assert_eq!(t.autoscaled, Some(GroupId(0)));
        assert_eq!(t.group(GroupId(2)).group, "db");
    }
}
