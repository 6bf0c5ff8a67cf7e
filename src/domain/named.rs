//! Closed sets of values (priorities, channels, states, availabilities) with one string
//! form each: the form of the API, the views, the logs and the Redis scripts, which is
//! also serde's. Parsing one at the edge names the field and the choices when it fails.

/// A closed set of values, each with one name.
pub trait Named: Copy + Sized + 'static {
    /// Every value, in the order they are listed to people.
    const ALL: &'static [Self];
    /// What a person calls this kind of value, for messages ("priority").
    const KIND: &'static str;

    fn name(self) -> &'static str;

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == s)
    }

    /// The choices, for a message: "`urgent` or `normal`", or "one of `a`, `b`, `c`".
    fn choices() -> String {
        let names: Vec<String> = Self::ALL
            .iter()
            .map(|v| format!("`{}`", v.name()))
            .collect();
        match names.as_slice() {
            [a, b] => format!("{a} or {b}"),
            _ => format!("one of {}", names.join(", ")),
        }
    }

    /// Why `given` is not one of these values.
    fn refusal(given: &str) -> String {
        format!("`{given}` is not a {}; use {}", Self::KIND, Self::choices())
    }
}

/// `named!(Type, "kind", Variant => "name", …)`: implement [`Named`].
macro_rules! named {
    ($t:ty, $kind:literal, $($v:ident => $name:literal),+ $(,)?) => {
        impl $crate::domain::named::Named for $t {
            const ALL: &'static [Self] = &[$(<$t>::$v),+];
            const KIND: &'static str = $kind;
            fn name(self) -> &'static str {
                match self {
                    $(<$t>::$v => $name),+
                }
            }
        }
    };
}
pub(crate) use named;

#[cfg(test)]
mod tests {
    use super::Named;
    use crate::domain::request::{Channel, Priority, RequestState};
    use crate::domain::roster::Availability;

    /// The name is serde's form too: one string form for everything.
    fn same_as_serde<T: Named + serde::Serialize + serde::de::DeserializeOwned + PartialEq>() {
        for &v in T::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.name());
            assert!(T::parse(v.name()) == Some(v));
            let back: T = serde_json::from_value(serde_json::json!(v.name())).unwrap();
            assert!(back == v);
        }
        assert!(T::parse("nope").is_none());
    }

    #[test]
    fn every_name_is_its_serde_form_and_parses_back() {
        same_as_serde::<Priority>();
        same_as_serde::<Channel>();
        same_as_serde::<RequestState>();
        same_as_serde::<Availability>();
    }

    #[test]
    fn a_refusal_names_the_kind_and_the_choices() {
        assert_eq!(
            Priority::refusal("high"),
            "`high` is not a priority; use `urgent` or `normal`"
        );
        assert_eq!(
            RequestState::refusal("x"),
            "`x` is not a state; use one of `queued`, `offered`, `connected`, `completed`, `cancelled`, `unfilled`"
        );
    }
}
