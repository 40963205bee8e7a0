//! Typed ids of the things in a run. Each is a `u32` index into the world's dense
//! `Vec`s (`#[repr(transparent)]`: no cost over the bare number), so a server id
//! cannot be passed where a client index is meant. Ids are fixed when the world is
//! built (servers added by the autoscaler take the next ones) and never reused.

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[repr(transparent)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// The index into the world's `Vec` of these.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id! {
    /// A server (also its endpoint id in client stacks: `EndpointId(server.0)`).
    ServerId
}
id! {
    /// A client instance.
    ClientId
}
id! {
    /// A server group (`[[servers]]` entry, in declaration order).
    GroupId
}
id! {
    /// A client population (`[[clients]]` entry, in declaration order).
    PopulationId
}
id! {
    /// A request in the world (a call's attempt or a health probe): its slot in the
    /// world's request slab. Slots are reused; events that can outlive a request carry
    /// the slot's generation beside it, so a stale one is recognised.
    RequestId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cost_what_a_u32_costs() {
        assert_eq!(std::mem::size_of::<ServerId>(), 4);
        assert_eq!(std::mem::size_of::<Option<ClientId>>(), 8);
        assert_eq!(GroupId(3).index(), 3);
    }
}
