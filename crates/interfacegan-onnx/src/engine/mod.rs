//! The two engines that run a [`crate::graph::Graph`]: burn's operators on any device, and the
//! channel-last CPU engine.

pub(crate) mod burn;
pub(crate) mod cpu;
