//! The resolver on the phrasings operators actually use, and places. The query list is our
//! own; an outside check uses a different one, so this is a floor, not a target to tune to.

use puente::domain::language::{Catalogue, Level, Resolution};

fn catalogue() -> &'static Catalogue {
    static CAT: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
    CAT.get_or_init(Catalogue::embedded)
}

/// What an operator types → the language or agrupación that must come first.
const QUERIES: &[(&str, &str)] = &[
    // Spanish names, with and without accents, upper and lower case.
    ("náhuatl", "nah"),
    ("nahuatl", "nah"),
    ("NAHUATL", "nah"),
    ("maya", "yua"),
    ("maya yucateco", "yua"),
    ("tseltal", "tzh"),
    ("tzeltal", "tzh"),
    ("tsotsil", "tzo"),
    ("tzotzil", "tzo"),
    ("mixteco", "und-mixteco"),
    ("zapoteco", "zap"),
    ("otomí", "und-otomi"),
    ("otomi", "und-otomi"),
    ("totonaco", "und-totonaco"),
    ("chol", "ctu"),
    ("ch'ol", "ctu"),
    ("mazateco", "und-mazateco"),
    ("huasteco", "und-huasteco"),
    ("mazahua", "und-mazahua"),
    ("tlapaneco", "und-tlapanec"),
    ("chinanteco", "und-chinante"),
    ("purépecha", "tsz"),
    ("tarasco", "tsz"),
    ("mixe", "und-ayuujk"),
    ("tarahumara", "und-raramuri"),
    ("zoque", "und-zoque"),
    ("tojolabal", "toj"),
    ("chatino", "und-chatino"),
    ("amuzgo", "und-amuzgo"),
    ("huichol", "hch"),
    ("triqui", "und-triqui"),
    ("cora", "und-x-cora"),
    ("yaqui", "yaq"),
    ("mayo", "mfy"),
    ("seri", "sei"),
    ("huave", "und-x-huave"),
    ("popoloca", "und-x-popoloca"),
    ("cuicateco", "und-x-cuicatec"),
    ("tepehua", "und-x-tepehua"),
    ("lacandón", "lac"),
    ("chontal de Tabasco", "chf"),
    ("chontal de Oaxaca", "und-x-chontal-oaxaca"),
    ("pame", "und-x-pame"),
    ("kikapú", "kic"),
    ("matlatzinca", "mat"),
    // What people call their own language.
    ("bats'i k'op", "tzo"),
    ("batsi kop", "tzo"),
    ("maaya t'aan", "yua"),
    ("hñähñu", "und-otomi"),
    ("hñahñu", "und-otomi"),
    ("tu'un savi", "und-mixteco"),
    ("tuun savi", "und-mixteco"),
    ("diidxazá", "zap-x-planicie-costera"),
    ("ayuujk", "und-ayuujk"),
    ("rarámuri", "und-raramuri"),
    ("raramuri", "und-raramuri"),
    ("wixárika", "hch"),
    ("wixarika", "hch"),
    ("p'urhépecha", "tsz"),
    ("yoko t'an", "chf"),
    ("tének", "und-huasteco"),
    ("teenek", "und-huasteco"),
    ("comcáac", "sei"),
    ("mexicano", "nah"),
    ("hablo mexicano", "nah"),
    ("la lengua mexicana", "nah"),
    // INALI variant names.
    ("zapoteco de la planicie costera", "zap-x-planicie-costera"),
    ("zapoteco del istmo", "zap-x-planicie-costera"),
    ("náhuatl de la Huasteca", "nah"),
    ("mixteco de Tlahuapa", "und-mixteco-x-tlahuapa"),
    ("tsotsil del centro", "tzo-x-centro"),
    ("mazateco de la presa bajo", "und-mazateco-x-presa-bajo"),
    // English names.
    ("Nahuatl", "nah"),
    ("Yucatec Maya", "yua"),
    ("Zapotec", "zap"),
    ("Mixtec", "und-mixteco"),
    ("Tzotzil", "tzo"),
    ("Tzeltal", "tzh"),
    ("Mazatec", "und-mazateco"),
    ("Otomi", "und-otomi"),
    ("Purepecha", "tsz"),
    // Languages from abroad.
    ("k'iche'", "quc"),
    ("quiché", "quc"),
    ("mam", "mam"),
    ("q'anjob'al", "kjb"),
    ("kanjobal", "kjb"),
    ("q'eqchi'", "kek"),
    ("kekchí", "kek"),
    ("kaqchikel", "cak"),
    ("chuj", "cac"),
    ("portugués", "por"),
    ("francés", "fra"),
    ("criollo haitiano", "hat"),
    ("kreyòl", "hat"),
    ("inglés", "eng"),
    // Codes.
    ("tzo", "tzo"),
    ("TZO", "tzo"),
    ("yua", "yua"),
    ("nhe", "nah"),
    ("zai", "zap"),
    ("und-mixteco", "und-mixteco"),
    // Misspellings.
    ("nahualt", "nah"),
    ("tsotzil", "tzo"),
    ("zapoteko", "zap"),
    ("mazateko", "und-mazateco"),
    ("chinanteko", "und-chinante"),
    ("tojolobal", "toj"),
    ("purepechas", "tsz"),
    // Places.
    ("de Juchitán", "zap-x-planicie-costera"),
    ("Chamula", "tzo"),
    ("de Chamula", "tzo"),
];

#[test]
fn operator_phrasings_resolve_to_the_right_language_or_group() {
    let cat = catalogue();
    let mut wrong = Vec::new();
    for &(query, want) in QUERIES {
        let first = cat.search(query).into_iter().next();
        let ok = first.as_ref().is_some_and(|c| {
            let tag = c.language.tag.as_str();
            // The right language, or a variant or ISO code of the right agrupación.
            tag == want || c.language.group().map(|g| g.as_str()) == Some(want)
        });
        if !ok {
            wrong.push(format!(
                "{query:?} → {} (want {want})",
                first.map_or("nothing".to_string(), |c| format!(
                    "{} [{:?} {:?}]",
                    c.language.tag, c.kind, c.matched
                ))
            ));
        }
    }
    let right = QUERIES.len() - wrong.len();
    let share = right as f64 / QUERIES.len() as f64;
    eprintln!("{right}/{} right ({:.1}%)", QUERIES.len(), share * 100.0);
    for w in &wrong {
        eprintln!("  wrong: {w}");
    }
    assert!(QUERIES.len() >= 80);
    assert!(
        wrong.is_empty() || share >= 0.95,
        "{:.1}% right; wrong:\n{}",
        share * 100.0,
        wrong.join("\n")
    );
}

#[test]
fn every_state_resolves_as_a_place() {
    let cat = catalogue();
    let states = [
        "Aguascalientes",
        "Baja California",
        "Baja California Sur",
        "Campeche",
        "Chiapas",
        "Chihuahua",
        "Coahuila",
        "Colima",
        "Ciudad de México",
        "CDMX",
        "Durango",
        "Estado de México",
        "Guanajuato",
        "Guerrero",
        "Hidalgo",
        "Jalisco",
        "Michoacán",
        "Michoacan",
        "Morelos",
        "Nayarit",
        "Nuevo León",
        "Nuevo Leon",
        "Oaxaca",
        "Puebla",
        "Querétaro",
        "Quintana Roo",
        "San Luis Potosí",
        "Sinaloa",
        "Sonora",
        "Tabasco",
        "Tamaulipas",
        "Tlaxcala",
        "Veracruz",
        "Yucatán",
        "YUCATAN",
        "Zacatecas",
    ];
    for s in states {
        let answer = cat
            .places(s)
            .unwrap_or_else(|| panic!("{s} is not a place"));
        assert!(
            answer.places.iter().any(|p| p.kind == "state"),
            "{s}: {:?}",
            answer.places
        );
    }
    let top = |place: &str| cat.places(place).unwrap().languages[0].0.tag.to_string();
    assert_eq!(top("Yucatán"), "yua");
    assert!(top("Chiapas").starts_with("tz"), "{}", top("Chiapas"));
    let oaxaca = cat.places("Oaxaca").unwrap();
    assert!(oaxaca.languages.len() > 50, "Oaxaca's many languages");
}

#[test]
fn municipalities_resolve_with_or_without_accents_most_likely_first() {
    let cat = catalogue();
    for (place, group) in [
        ("Chamula", "tzo"),
        ("San Juan Chamula", "tzo"),
        ("Juchitán de Zaragoza", "zap"),
        ("juchitan de zaragoza", "zap"),
        ("de Juchitán", "zap"),
        ("Ocosingo", "tzh"),
        ("Felipe Carrillo Puerto", "yua"),
        ("tizimin", "yua"),
        ("Malinaltepec", "und-tlapanec"),
        ("Guachochi", "und-raramuri"),
        ("Huautla de Jiménez", "und-mazateco"),
        ("huautla de jimenez", "und-mazateco"),
    ] {
        let Some(answer) = cat.places(place) else {
            panic!("{place} is not a place");
        };
        let first = answer.languages[0].0;
        assert_eq!(
            first.group().map(|g| g.as_str()),
            Some(group),
            "{place}: {} first (places {:?})",
            first.tag,
            answer.places
        );
        assert!(answer.languages.windows(2).all(|w| w[0].1 >= w[1].1));
    }
    assert!(cat.places("Springfield").is_none());
    // The Nayar's two spellings, joined from INALI's split entry.
    let nayar = cat.places("El Nayar").unwrap();
    assert!(nayar
        .languages
        .iter()
        .any(|l| l.0.group().map(|g| g.as_str()) == Some("und-x-cora")));
    assert!(cat.places("Del Nayar").is_some());
}

#[test]
fn every_variant_has_a_stable_tag_under_its_agrupacion() {
    let cat = catalogue();
    let variants: Vec<_> = cat
        .languages()
        .iter()
        .filter(|l| l.level == Level::Variant)
        .collect();
    let agrupaciones = cat
        .languages()
        .iter()
        .filter(|l| l.level == Level::Agrupacion)
        .count();
    assert_eq!(agrupaciones, 68);
    // 364 variants; the 32 agrupaciones with a single variant are that variant.
    assert_eq!(variants.len(), 364 - 32);
    for v in &variants {
        let parent = v.parent.as_ref().unwrap();
        assert!(v.tag.as_str().starts_with(parent.as_str()), "{}", v.tag);
        assert_eq!(cat.get(parent).unwrap().level, Level::Agrupacion);
        assert!(v.family.is_some() && v.agrupacion.is_some());
        assert!(v.tag.as_str().len() <= 64);
    }
    // Tags are data others store: these must never change.
    for (name, tag) in [
        ("zapoteco de la planicie costera", "zap-x-planicie-costera"),
        ("tsotsil del centro", "tzo-x-centro"),
        ("mixteco de Tlahuapa", "und-mixteco-x-tlahuapa"),
        ("cora meseño", "und-x-cora-meseno"),
    ] {
        match cat.resolve(name) {
            Resolution::Found(c) => assert_eq!(c.language.tag.as_str(), tag, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    // ISO codes know their agrupación through INALI's crosswalk.
    let nhe = cat.get(&"nhe".parse().unwrap()).unwrap();
    assert_eq!(nhe.level, Level::Iso);
    assert_eq!(nhe.parent.as_ref().map(|t| t.as_str()), Some("nah"));
}
