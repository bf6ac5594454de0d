//! Verify rotation: each night reads a share of the packs so that every pack
//! is read in full within 30 days.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use hubkeep_plan::verify::{tonight_share, verified_through, PackReading, FULL_READ_DAYS};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn pack(id: &str, last_read: Option<&str>) -> PackReading {
    PackReading {
        pack: id.into(),
        last_read: last_read.map(at),
    }
}

#[test]
fn a_night_reads_a_thirtieth_of_the_vault_rounded_up_never_read_first() {
    let now = at("2026-06-01T11:00:00Z");
    let mut packs: Vec<PackReading> = (0..88)
        .map(|i| pack(&format!("p{i:03}"), Some("2026-05-31T11:00:00Z")))
        .collect();
    packs.push(pack("new-b", None));
    packs.push(pack("new-a", None));
    packs.push(pack("p-old", Some("2026-05-20T11:00:00Z")));
    // 91 packs: ceil(91 / 30) = 4.
    assert_eq!(
        tonight_share(&packs, now, now + Duration::days(1)),
        ["new-a", "new-b", "p-old", "p000"]
    );
}

#[test]
fn packs_about_to_pass_thirty_days_are_all_read_whatever_the_share() {
    let now = at("2026-06-30T11:00:00Z");
    let mut packs: Vec<PackReading> = (0..60)
        .map(|i| pack(&format!("due{i:02}"), Some("2026-06-01T11:00:00Z")))
        .collect();
    packs.extend((0..30).map(|i| pack(&format!("fresh{i:02}"), Some("2026-06-29T11:00:00Z"))));
    packs.push(pack("new", None));
    let share = tonight_share(&packs, now, now + Duration::days(1));
    assert_eq!(
        share.len(),
        60,
        "60 due packs; the share alone would be ceil(91/30) = 4"
    );
    assert!(share.iter().all(|p| p.starts_with("due")));
}

#[test]
fn an_empty_vault_reads_nothing() {
    assert!(tonight_share(&[], at("2026-06-01T00:00:00Z"), at("2026-06-02T00:00:00Z")).is_empty());
}

/// 120 nights of a vault that starts with 300 never-read packs and gains 5
/// packs every night: every pack is read within 30 days of the last read
/// (or of its first night), every night reads at least ceil(n/30).
#[test]
fn over_four_months_every_pack_is_read_within_thirty_days() {
    let mut packs: BTreeMap<String, (DateTime<Utc>, Option<DateTime<Utc>>)> = BTreeMap::new();
    let first = at("2026-01-01T11:00:00Z");
    for i in 0..300 {
        packs.insert(format!("a{i:04}"), (first, None));
    }
    for night in 0..120 {
        let now = first + Duration::days(night);
        for i in 0..5 {
            packs.insert(format!("n{night:03}-{i}"), (now, None));
        }
        for (id, (since, last)) in &packs {
            let age = now - last.unwrap_or(*since);
            assert!(
                age <= Duration::days(FULL_READ_DAYS),
                "night {night}: {id} unread for {age}"
            );
        }
        let readings: Vec<PackReading> = packs
            .iter()
            .map(|(id, (_, last))| PackReading {
                pack: id.clone(),
                last_read: *last,
            })
            .collect();
        let share = tonight_share(&readings, now, now + Duration::days(1));
        assert!(
            share.len() >= packs.len().div_ceil(30),
            "night {night}: {} of {}",
            share.len(),
            packs.len()
        );
        for id in share {
            packs.get_mut(&id).unwrap().1 = Some(now);
        }
    }
}

#[test]
fn a_weekly_verify_reads_a_quarter_and_still_reads_every_pack_within_thirty_days() {
    let mut last: BTreeMap<String, Option<DateTime<Utc>>> =
        (0..100).map(|i| (format!("p{i:03}"), None)).collect();
    let first = at("2026-01-04T04:00:00Z");
    for week in 0..20 {
        let now = first + Duration::weeks(week);
        if week >= 5 {
            for (id, read) in &last {
                let age = now - read.expect("all read in the first month");
                assert!(
                    age <= Duration::days(FULL_READ_DAYS),
                    "week {week}: {id} unread for {age}"
                );
            }
        }
        let readings: Vec<PackReading> = last
            .iter()
            .map(|(id, read)| PackReading {
                pack: id.clone(),
                last_read: *read,
            })
            .collect();
        let share = tonight_share(&readings, now, now + Duration::weeks(1));
        assert!(
            share.len() >= 25,
            "week {week}: ceil(100 / 4) at least, got {}",
            share.len()
        );
        for id in share {
            last.insert(id, Some(now));
        }
    }
}

#[test]
fn verified_through_is_the_oldest_full_read() {
    let packs = [
        pack("a", Some("2026-05-20T11:00:00Z")),
        pack("b", Some("2026-05-03T11:00:00Z")),
        pack("c", Some("2026-05-31T11:00:00Z")),
    ];
    assert_eq!(verified_through(&packs), Some(at("2026-05-03T11:00:00Z")));
    let with_new = [pack("a", Some("2026-05-20T11:00:00Z")), pack("b", None)];
    assert_eq!(
        verified_through(&with_new),
        None,
        "a pack never read verifies nothing through"
    );
    assert_eq!(verified_through(&[]), None);
}
