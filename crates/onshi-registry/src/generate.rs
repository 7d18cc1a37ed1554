//! `onshi generate --persons N`: a deterministic synthetic population.
//!
//! Person `i` of seed `s` is drawn from its own ChaCha8 stream seeded by
//! `(s, i)`, so the population is the same whatever the chunking or the
//! machine, and any one person can be rebuilt alone. Ages follow a rough
//! Japanese pyramid; over-75s are in 後期高齢者医療 with their 国保 lost on the
//! 75th birthday; about 3 % have no registered qualification (資格情報なし),
//! about 7 % lost theirs with nothing newer (資格(無効)), others changed jobs.
//! Every name is a common name joined at random; every address has a real
//! municipality and a made-up street number. Nothing describes a real person.

use chrono::{Datelike, Days, NaiveDate};
use onshi_core::burden::kouki_from;
use onshi_core::qualification::InsuranceNumbers;
use onshi_core::{
    Address, BranchNumber, BurdenRatio, CertificateSerial, InstitutionCode, InsuredNumber,
    InsuredSymbol, InsurerNumber, KanaName, ParseError, Person, PersonName, PersonRef,
    Qualification, Relation, Sex,
};
use onshi_store::{
    Batch, BatchCounts, InstitutionRow, InsurerRow, NewCard, NewPerson, RegistryStore,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::RegistryError;
use crate::names::{EMPLOYERS, FEMALE_NAMES, KUMIAI, MALE_NAMES, PLACES, SURNAMES};

/// The insurers of one prefecture in the synthetic world.
#[derive(Debug, Clone)]
pub struct PrefectureInsurers {
    pub prefecture: u8,
    pub kyokai: InsurerNumber,
    pub kouki: InsurerNumber,
    pub kyosai: InsurerNumber,
    /// One 市町村国保 per municipality of [`PLACES`].
    pub kokuho: Vec<InsurerNumber>,
    pub kumiai: Vec<InsurerNumber>,
}

/// The reference data every generated population uses: insurers and
/// institutions for the prefectures of [`PLACES`].
#[derive(Debug, Clone)]
pub struct World {
    pub prefectures: Vec<PrefectureInsurers>,
    pub insurers: Vec<InsurerRow>,
    pub institutions: Vec<InstitutionRow>,
}

fn branch_of(pref_name: &str) -> &str {
    if pref_name == "北海道" {
        pref_name
    } else {
        pref_name.trim_end_matches(['都', '府', '県'])
    }
}

impl World {
    pub fn new() -> Result<Self, ParseError> {
        let mut prefectures = Vec::new();
        let mut insurers = Vec::new();
        let mut institutions = Vec::new();
        for &(pref, pref_name, cities, _) in PLACES {
            let mut add = |body: String, name: String| -> Result<InsurerNumber, ParseError> {
                let n = InsurerNumber::from_body(&body)?;
                insurers.push(InsurerRow {
                    number: n.clone(),
                    name,
                });
                Ok(n)
            };
            let kyokai = add(
                format!("01{pref:02}001"),
                format!("全国健康保険協会{}支部", branch_of(pref_name)),
            )?;
            let kouki = add(
                format!("39{pref:02}000"),
                format!("{pref_name}後期高齢者医療広域連合"),
            )?;
            let kyosai = add(
                format!("32{pref:02}001"),
                format!("地方職員共済組合{}支部", branch_of(pref_name)),
            )?;
            let mut kokuho = Vec::new();
            for (j, city) in cities.iter().enumerate() {
                kokuho.push(add(
                    format!("{pref:02}{:03}", 101 + j),
                    format!("{pref_name}{city}国民健康保険"),
                )?);
            }
            let mut kumiai = Vec::new();
            if matches!(pref, 13 | 27) {
                for (k, name) in KUMIAI.iter().enumerate() {
                    kumiai.push(add(
                        format!("06{pref:02}{:03}", 101 + k + usize::from(pref)),
                        (*name).to_owned(),
                    )?);
                }
            }
            for (j, city) in cities.iter().enumerate() {
                for (k, (kind, table)) in [("クリニック", 1), ("薬局", 4)].into_iter().enumerate()
                {
                    let code = format!("{pref:02}{table}{:07}", 1_000_000 + j * 10 + k);
                    institutions.push(InstitutionRow {
                        code: InstitutionCode::parse(&code)?,
                        name: format!("{city}あおば{kind}"),
                        phone: Some(format!("0{:01}-0000-{:04}", pref % 10, j * 10 + k)),
                    });
                }
            }
            prefectures.push(PrefectureInsurers {
                prefecture: pref,
                kyokai,
                kouki,
                kyosai,
                kokuho,
                kumiai,
            });
        }
        Ok(Self {
            prefectures,
            insurers,
            institutions,
        })
    }
}

fn pick<'a, T, R: Rng>(rng: &mut R, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

fn days_before(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_sub_days(Days::new(n)).unwrap_or(d)
}
fn days_after(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_add_days(Days::new(n)).unwrap_or(d)
}

/// Age in years, drawn from a rough pyramid: 12 % under 15, 59 % 15–64,
/// 14 % 65–74, 15 % 75–99.
fn draw_age<R: Rng>(rng: &mut R) -> u32 {
    match rng.random_range(0..100) {
        0..12 => rng.random_range(0..15),
        12..71 => rng.random_range(15..65),
        71..85 => rng.random_range(65..75),
        _ => rng.random_range(75..100),
    }
}

struct Membership {
    insurer: InsurerNumber,
    employer: Option<String>,
    relation: Relation,
}

fn membership<R: Rng>(rng: &mut R, p: &PrefectureInsurers, city: usize, age: u32) -> Membership {
    let employed_age = (18..65).contains(&age);
    let roll = rng.random_range(0..100);
    let relation = if employed_age {
        Relation::Insured
    } else {
        Relation::Dependent
    };
    let employer = Some((*pick(rng, EMPLOYERS)).to_owned());
    match roll {
        0..40 => Membership {
            insurer: p.kyokai.clone(),
            employer,
            relation,
        },
        40..60 if !p.kumiai.is_empty() => {
            let i = rng.random_range(0..p.kumiai.len());
            Membership {
                insurer: p.kumiai[i].clone(),
                employer: Some(KUMIAI[i].replace("健康保険組合", "株式会社")),
                relation,
            }
        }
        60..68 => Membership {
            insurer: p.kyosai.clone(),
            employer: Some("県庁".to_owned()),
            relation,
        },
        _ => Membership {
            insurer: p.kokuho[city].clone(),
            employer: None,
            relation: Relation::Insured,
        },
    }
}

fn numbers<R: Rng>(
    rng: &mut R,
    m: &Membership,
    index: u64,
    salt: u64,
) -> Result<InsuranceNumbers, ParseError> {
    if m.insurer.is_kouki() {
        let n = InsuredNumber::parse(&format!("{:08}", (index * 3 + salt) % 100_000_000))?;
        return InsuranceNumbers::new(m.insurer.clone(), None, n, None);
    }
    let symbol = InsuredSymbol::parse(&rng.random_range(1..100_000_000u32).to_string())?;
    let number = InsuredNumber::parse(&format!("{}", index * 3 + salt + 1))?;
    let branch = match m.relation {
        Relation::Insured => BranchNumber::new(0),
        Relation::Dependent => BranchNumber::new(rng.random_range(1..5)),
    };
    InsuranceNumbers::new(m.insurer.clone(), Some(symbol), number, branch)
}

/// The ratio an insurer registers for a member aged 70 or over on `as_of`:
/// 後期 1割 (80 %), 2割 (12 %), 3割 (8 %); 70–74 2割 (85 %) or 3割 現役並み.
fn registered_ratio<R: Rng>(rng: &mut R, kouki: bool, age: u32) -> Option<BurdenRatio> {
    let r = rng.random_range(0..100);
    if kouki {
        Some(match r {
            0..80 => BurdenRatio::ONE,
            80..92 => BurdenRatio::TWO,
            _ => BurdenRatio::THREE,
        })
    } else if age >= 70 {
        Some(if r < 85 {
            BurdenRatio::TWO
        } else {
            BurdenRatio::THREE
        })
    } else {
        None
    }
}

/// Person `index` of the population drawn with `seed`, as of `as_of`.
pub fn person(
    world: &World,
    seed: u64,
    index: u64,
    as_of: NaiveDate,
) -> Result<NewPerson, ParseError> {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed.rotate_left(32) ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let sex = if rng.random_bool(0.5) {
        Sex::Male
    } else {
        Sex::Female
    };
    let age = draw_age(&mut rng);
    let birth = days_before(
        as_of.with_year(as_of.year() - age as i32).unwrap_or(as_of),
        rng.random_range(0..365),
    );
    let (surname, surname_kana) = pick(&mut rng, SURNAMES);
    let (given, given_kana) = pick(
        &mut rng,
        if sex == Sex::Male {
            MALE_NAMES
        } else {
            FEMALE_NAMES
        },
    );
    let place_i = rng.random_range(0..PLACES.len());
    let (_, pref_name, cities, towns) = PLACES[place_i];
    let city_i = rng.random_range(0..cities.len());
    let address = format!(
        "{pref_name}{}{}{}丁目{}番{}号",
        cities[city_i],
        pick(&mut rng, towns),
        rng.random_range(1..10),
        rng.random_range(1..30),
        rng.random_range(1..20)
    );
    let person = Person {
        name: PersonName::parse(&format!("{surname} {given}"))?,
        kana: KanaName::parse(&format!("{surname_kana} {given_kana}"))?,
        birth_date: birth,
        sex,
        address: Address::parse(&address)?,
    };

    let mut cards = Vec::new();
    if rng.random_range(0..100) < 90 {
        let valid_to = days_after(days_before(as_of, 150), rng.random_range(0..1950));
        let revoked_on =
            (rng.random_range(0..1000) < 5).then(|| days_before(as_of, rng.random_range(1..300)));
        cards.push(NewCard {
            serial: CertificateSerial::parse(&format!("S{seed:x}-{index:010}"))?,
            valid_to,
            revoked_on,
        });
    }

    let pref = &world.prefectures[place_i];
    let mut quals = Vec::new();
    let scenario = rng.random_range(0..1000);
    let qual = |rng: &mut ChaCha8Rng,
                m: &Membership,
                salt: u64,
                from: NaiveDate,
                to: Option<NaiveDate>| {
        let kouki = m.insurer.is_kouki();
        Ok::<_, ParseError>(Qualification {
            numbers: numbers(rng, m, index, salt)?,
            relation: m.relation,
            acquired_on: from,
            lost_on: to,
            burden_ratio: registered_ratio(rng, kouki, age),
            employer: m.employer.clone(),
        })
    };
    let born_or = |d: NaiveDate| d.max(birth);
    if scenario < 30 {
        // 資格情報なし: nothing registered.
    } else if age >= 75 {
        let turned_75 = kouki_from(birth);
        let old = Membership {
            insurer: pref.kokuho[city_i].clone(),
            employer: None,
            relation: Relation::Insured,
        };
        let since = born_or(days_before(turned_75, 365 * 10));
        quals.push(qual(&mut rng, &old, 0, since, Some(turned_75))?);
        let kouki = Membership {
            insurer: pref.kouki.clone(),
            employer: None,
            relation: Relation::Insured,
        };
        let lost = (scenario < 100).then(|| days_before(as_of, rng.random_range(1..180)));
        let lost = lost.filter(|l| *l > turned_75);
        quals.push(qual(&mut rng, &kouki, 1, turned_75, lost)?);
    } else {
        let m = membership(&mut rng, pref, city_i, age);
        let since = born_or(days_before(as_of, rng.random_range(30..365 * 15)));
        if scenario < 100 {
            // 資格(無効): lost recently, nothing newer registered.
            let lost = days_before(as_of, rng.random_range(1..180)).max(days_after(since, 1));
            quals.push(qual(&mut rng, &m, 0, since, Some(lost))?);
        } else if scenario < 400 {
            // A job change: the old one lost, the new one from the same day.
            let change = days_before(as_of, rng.random_range(1..365 * 3)).max(days_after(since, 1));
            quals.push(qual(&mut rng, &m, 0, since, Some(change))?);
            let newer = membership(&mut rng, pref, city_i, age);
            quals.push(qual(&mut rng, &newer, 1, change, None)?);
        } else {
            quals.push(qual(&mut rng, &m, 0, since, None)?);
        }
    }
    Ok(NewPerson {
        person_ref: Some(PersonRef::parse(&format!("G{seed:x}-{index:010}"))?),
        person,
        cards,
        qualifications: quals,
    })
}

/// Writes the reference data and `persons` generated people in chunks of
/// `chunk` (one transaction each), calling `progress(done, total)` after each.
pub fn generate(
    store: &dyn RegistryStore,
    seed: u64,
    persons: u64,
    as_of: NaiveDate,
    chunk: usize,
    recorded_at: &str,
    mut progress: impl FnMut(u64, u64),
) -> Result<BatchCounts, RegistryError> {
    let world = World::new()?;
    let mut total = store.write_batch(
        &Batch {
            insurers: world.insurers.clone(),
            institutions: world.institutions.clone(),
            persons: vec![],
        },
        recorded_at,
    )?;
    let chunk = chunk.max(1) as u64;
    let mut start = 0;
    while start < persons {
        let end = (start + chunk).min(persons);
        let people = (start..end)
            .map(|i| person(&world, seed, i, as_of))
            .collect::<Result<Vec<_>, _>>()?;
        let c = store.write_batch(
            &Batch {
                persons: people,
                ..Batch::default()
            },
            recorded_at,
        )?;
        total.persons += c.persons;
        total.cards += c.cards;
        total.qualifications += c.qualifications;
        total.first_person_id = total.first_person_id.or(c.first_person_id);
        start = end;
        progress(start, persons);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use onshi_core::Validity;
    use onshi_core::check::{Held, card_selection};

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    #[test]
    fn deterministic_per_index() {
        let w = World::new().unwrap();
        let a = person(&w, 7, 123, as_of()).unwrap();
        let b = person(&w, 7, 123, as_of()).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, person(&w, 8, 123, as_of()).unwrap());
    }

    #[test]
    fn population_covers_the_three_answers() {
        let w = World::new().unwrap();
        let mut seen = std::collections::BTreeMap::new();
        for i in 0..3000 {
            let p = person(&w, 1, i, as_of()).unwrap();
            let held: Vec<Held> = p
                .qualifications
                .iter()
                .map(|q| Held {
                    person: 0,
                    acquired_on: q.acquired_on,
                    lost_on: q.lost_on,
                })
                .collect();
            *seen
                .entry(card_selection(&held, as_of()).validity.code())
                .or_insert(0) += 1;
            for q in &p.qualifications {
                assert!(q.lost_on.is_none_or(|l| l > q.acquired_on), "{i}: {q:?}");
                assert!(q.acquired_on >= p.person.birth_date);
            }
        }
        let share = |v: Validity| seen.get(&v.code()).copied().unwrap_or(0) as f64 / 3000.0;
        assert!(share(Validity::Valid) > 0.8, "{seen:?}");
        assert!((0.02..0.12).contains(&share(Validity::Invalid)), "{seen:?}");
        assert!(
            (0.01..0.06).contains(&share(Validity::NotFound)),
            "{seen:?}"
        );
    }
}
