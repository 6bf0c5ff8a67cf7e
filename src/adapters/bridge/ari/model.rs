//! The parts of Asterisk's ARI JSON that puente reads. Unknown event types and fields are
//! ignored. A channel's `caller` (the caller's number) is deliberately not read: puente has
//! no use for it and must not keep it. Of `dialplan`, only the application's name and
//! first argument are (to find callers an earlier run left in puente's application).

use serde::Deserialize;

/// An event from `/ari/events`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    StasisStart {
        #[serde(default)]
        args: Vec<String>,
        channel: Channel,
    },
    StasisEnd {
        channel: Channel,
    },
    /// A dial attempt's progress. For originated channels `peer` is the channel being
    /// dialled; `dialstatus` is `""`, `RINGING`, then `ANSWER`, `BUSY`, `NOANSWER`, …
    Dial {
        #[serde(default)]
        dialstatus: String,
        peer: Channel,
    },
    ChannelDestroyed {
        #[serde(default)]
        cause: i32,
        channel: Channel,
    },
    ChannelDtmfReceived {
        digit: String,
        channel: Channel,
    },
    ChannelEnteredBridge {
        bridge: Bridge,
        channel: Channel,
    },
    ChannelLeftBridge {
        bridge: Bridge,
        channel: Channel,
    },
    BridgeDestroyed {
        bridge: Bridge,
    },
    /// A prompt ended: `done`, or `failed` when its sound could not be played.
    PlaybackFinished {
        playback: Playback,
    },
    /// Everything else (`ChannelVarset`, `ChannelDialplan`, `PlaybackStarted`, …).
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Channel {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub dialplan: Option<Dialplan>,
}

/// Where a channel is in the dialplan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Dialplan {
    #[serde(default)]
    pub app_name: String,
    /// `hotline,caller,5551234` for `Stasis(hotline,caller,5551234)`.
    #[serde(default)]
    app_data: String,
}

impl Dialplan {
    /// The Stasis application the channel is in, if it is in one.
    pub fn stasis_app(&self) -> Option<&str> {
        (self.app_name == "Stasis").then(|| self.app_data.split(',').next().unwrap_or(""))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Bridge {
    pub id: String,
    #[serde(default)]
    pub technology: String,
    #[serde(default)]
    pub bridge_type: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub channels: Vec<String>,
}

/// Q.850 cause codes that tell why an unanswered channel ended.
pub mod cause {
    pub const USER_BUSY: i32 = 17;
    pub const NO_USER_RESPONSE: i32 = 18;
    pub const NO_ANSWER: i32 = 19;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event recorded from a real Asterisk (tests/data/ari) parses, and the ones
    /// puente acts on parse into what they say.
    #[test]
    fn recorded_events_parse() {
        let files = [
            include_str!("../../../../tests/data/ari/events.jsonl"),
            include_str!("../../../../tests/data/ari/sip_events_2833.jsonl"),
            include_str!("../../../../tests/data/ari/sip_events_info.jsonl"),
        ];
        let mut seen = std::collections::BTreeMap::<&str, usize>::new();
        for line in files.iter().flat_map(|f| f.lines()) {
            let ev: Event = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let kind = match &ev {
                Event::StasisStart { .. } => "StasisStart",
                Event::StasisEnd { .. } => "StasisEnd",
                Event::Dial { .. } => "Dial",
                Event::ChannelDestroyed { .. } => "ChannelDestroyed",
                Event::ChannelDtmfReceived { .. } => "ChannelDtmfReceived",
                Event::ChannelEnteredBridge { .. } => "ChannelEnteredBridge",
                Event::ChannelLeftBridge { .. } => "ChannelLeftBridge",
                Event::BridgeDestroyed { .. } => "BridgeDestroyed",
                Event::PlaybackFinished { .. } => "PlaybackFinished",
                Event::Other => "Other",
            };
            *seen.entry(kind).or_default() += 1;
        }
        for kind in [
            "StasisStart",
            "StasisEnd",
            "Dial",
            "ChannelDestroyed",
            "ChannelDtmfReceived",
            "ChannelEnteredBridge",
            "ChannelLeftBridge",
            "PlaybackFinished",
            "BridgeDestroyed",
            "Other",
        ] {
            assert!(
                seen.contains_key(kind),
                "no {kind} in the recordings: {seen:?}"
            );
        }
        let first: Event = serde_json::from_str(files[0].lines().next().unwrap()).unwrap();
        assert_eq!(
            first,
            Event::StasisStart {
                args: vec!["caller".into(), "5551234".into()],
                channel: Channel {
                    id: "1795935627.15".into(),
                    name: "Local/5551234@from-caller-00000007;2".into(),
                    state: "Ring".into(),
                    dialplan: Some(Dialplan {
                        app_name: "Stasis".into(),
                        app_data: "hotline,caller,5551234".into()
                    }),
                }
            }
        );
        let busy = files[0]
            .lines()
            .map(|l| serde_json::from_str::<Event>(l).unwrap())
            .find(|e| matches!(e, Event::Dial { dialstatus, .. } if dialstatus == "BUSY"));
        assert!(busy.is_some());
        if let Event::StasisStart { channel, .. } = first {
            assert_eq!(channel.dialplan.unwrap().stasis_app(), Some("hotline"));
        }
    }
}

/// A playback, as ARI reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Playback {
    #[serde(default)]
    pub media_uri: String,
    /// `channel:<id>` for a prompt played on a channel.
    #[serde(default)]
    pub target_uri: String,
    #[serde(default)]
    pub state: String,
}
