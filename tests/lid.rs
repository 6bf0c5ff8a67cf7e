//! Language identification with the shipped model: what the hotline relies on.

use std::sync::OnceLock;

use puente::logic::lid::train::{fit, Corpus, Params};
use puente::logic::lid::Model;

fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(Model::embedded)
}

fn top(text: &str) -> (String, Option<String>) {
    let d = model().detect(text).expect("text has letters");
    (
        d.candidates[0].tag.to_string(),
        d.language.map(|t| t.to_string()),
    )
}

#[test]
fn the_shipped_model_is_small_and_knows_its_groups() {
    assert!(puente::logic::lid::EMBEDDED_MODEL.len() <= 10 * 1024 * 1024);
    let groups = &model().header().groups;
    for tag in [
        "spa",
        "eng",
        "nah",
        "yua",
        "tzo",
        "tzh",
        "zap",
        "und-mixteco",
        "und-chatino",
        "mam",
    ] {
        assert!(groups.iter().any(|g| g.as_str() == tag), "{tag} missing");
    }
    // Every group is a tag the catalogue can route.
    let cat = puente::domain::language::Catalogue::embedded();
    for g in groups {
        assert!(cat.get(g).is_some(), "{g} is not routable");
    }
}

#[test]
fn spanish_messages_are_spanish_and_confident() {
    for text in [
        "hola necesito ayuda por favor, no me dejan salir de la casa",
        "me quitaron mis papeles y tengo miedo",
        "buenas noches, quiero denunciar a mi patrón",
    ] {
        assert_eq!(top(text), ("spa".into(), Some("spa".into())), "{text}");
    }
}

#[test]
fn indigenous_sentences_reach_their_group() {
    // Constitution and UDHR sentences the model was trained on would prove little; these
    // are in the training languages but composed of everyday words (spelling of the UDHR
    // translations).
    let cases = [
        ("Nochi tlakamej uan siuamej kipiaj ininkuali", "nah"),
        ("Tulacal wíinicoʼob ku síijloʼob libreʼil", "yua"),
    ];
    for (text, group) in cases {
        let d = model().detect(text).unwrap();
        assert!(
            d.candidates.iter().take(2).any(|c| c.tag.as_str() == group),
            "{text}: {:?}",
            d.candidates
        );
    }
}

#[test]
fn letterless_text_is_not_detected() {
    assert!(model().detect("").is_none());
    assert!(model().detect("  12345 !!! ...").is_none());
    assert!(
        model().detect("x").is_some(),
        "one letter still gets candidates"
    );
}

#[test]
fn an_indigenous_phrase_inside_spanish_appears_among_the_candidates() {
    // Mostly Tsotsil: Tsotsil wins outright.
    let text = "hola buenas tardes le escribo porque mi mamá solo habla así: \
                skotol vinik antsetik ta xvok'ik ta jun no'ox xkuxlejal, ayúdenos por favor";
    assert_eq!(top(text).0, "tzo");
    // Mostly Spanish with a Tsotsil phrase: Spanish first, Tsotsil still offered, and the
    // detector does not claim to be sure.
    let text = "hola buenas tardes, le escribo de parte de mi mamá que está muy asustada y no \
                sabe qué hacer porque la señora de la casa no la deja salir, ella solo me dijo \
                skotol vinik antsetik ta xvok'ik y ya no pudo hablar más conmigo, por favor ayúdenos";
    let d = model().detect(text).unwrap();
    assert_eq!(d.candidates[0].tag.as_str(), "spa", "{:?}", d.candidates);
    let tzo = d.candidates.iter().find(|c| c.tag.as_str() == "tzo");
    assert!(tzo.is_some_and(|c| c.partial), "{:?}", d.candidates);
    assert_eq!(
        d.language, None,
        "mixed text is for the operator to confirm"
    );
}

#[test]
fn training_is_deterministic() {
    let corpora = vec![
        Corpus {
            label: "spa".into(),
            domain: "t".into(),
            group: "spa".parse().unwrap(),
            lines: vec![
                "hola como estas".into(),
                "necesito ayuda ahora".into(),
                "gracias por todo".into(),
            ],
            twin: false,
        },
        Corpus {
            label: "nhn".into(),
            domain: "t".into(),
            group: "nah".parse().unwrap(),
            lines: vec![
                "nochi tlakamej".into(),
                "uan siuamej kipiaj".into(),
                "tlen kuali".into(),
            ],
            twin: false,
        },
    ];
    let a = fit(&corpora, &Params::default(), 8.0, 0.8).to_bytes();
    let b = fit(&corpora, &Params::default(), 8.0, 0.8).to_bytes();
    assert_eq!(a, b);
    let back = Model::from_bytes(&a).unwrap();
    assert_eq!(back.to_bytes(), a, "a model survives a round trip");
    assert!(Model::from_bytes(b"garbage").is_err());
    assert!(Model::from_bytes(&a[..a.len() - 1]).is_err());
}
