//! The pure core: decisions as functions of their inputs. No tokio, no store, no clock
//! (`now` is an argument), so each is tested and benchmarked alone.

pub mod coverage;
pub mod demand;
pub mod lid;
pub mod matcher;
pub mod prompts;
pub mod routing;
