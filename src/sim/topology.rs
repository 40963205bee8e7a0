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
