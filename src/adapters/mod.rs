//! The world outside, behind traits the application owns: the [`store`] (in memory,
//! Redis), the telephone and chat [`bridge`]s (Asterisk ARI; WhatsApp in [`whatsapp`]),
//! and the coverage [`alerts`] webhook.

pub mod alerts;
pub mod bridge;
pub mod store;
pub mod whatsapp;
