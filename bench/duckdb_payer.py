#!/usr/bin/env python3
"""The payer run's set work in DuckDB, for bench/run's comparison.

Reads the registry's persons, qualifications and insurers (CSV exported from
the onshi SQLite file by bench/run) and the month's claims (the JSON Lines of
`onshi payer generate`), then runs the same three steps as `onshi payer run`
as SQL over the whole set:

1. 振替: each claim with a real insurer is joined to the visible
   qualification its numbers and birth date name; if that one is not valid on
   every visit date, to the same person's qualification valid on the first
   visit date (transferred), else returned.
2. 特定: each 不詳 claim is joined to the persons with its kana (摘要の
   カナ氏名), birth date and sex that hold a qualification valid on the first
   visit date; one insurer: identified; several: candidates; none: apportioned.
3. 按分: what stays unidentified is shared among the insurers in proportion to
   what each was billed by that institution, payer and month, in integer yen
   by largest remainder.

It prints one JSON line: the counts per fate, the seconds spent loading and
the seconds spent in the SQL alone, and the peak RSS of this process.

What it leaves out, so that the comparison flatters DuckDB rather than onshi:
intake validation of each claim, the 70+ ratio differences, splitting a claim
over several insurers by visit day, the 摘要 tie-break score, and the
normalisation of kana (it joins the claim's kana to the stored kana as is:
the generator writes both the same way).
"""

import json
import resource
import sys
import time

import duckdb


def main() -> None:
    if len(sys.argv) != 6:
        sys.exit("usage: duckdb_payer.py PERSONS.csv QUALS.csv INSURERS.csv CLAIMS.jsonl THREADS")
    persons, quals, insurers, claims, threads = sys.argv[1:]
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {int(threads)}")
    t0 = time.perf_counter()
    con.execute(
        f"""CREATE TABLE persons AS SELECT * FROM read_csv('{persons}', header = true,
            columns = {{'id': 'BIGINT', 'person_ref': 'VARCHAR', 'kana': 'VARCHAR',
                        'birth_date': 'DATE', 'sex': 'INTEGER'}})"""
    )
    con.execute(
        f"""CREATE TABLE quals AS SELECT * FROM read_csv('{quals}', header = true, nullstr = '',
            columns = {{'id': 'BIGINT', 'person_id': 'BIGINT', 'insurer_number': 'VARCHAR',
                        'symbol': 'VARCHAR', 'number': 'VARCHAR', 'branch': 'VARCHAR',
                        'acquired_on': 'DATE', 'lost_on': 'DATE', 'visible': 'INTEGER'}})"""
    )
    con.execute(
        f"""CREATE TABLE insurers AS SELECT * FROM read_csv('{insurers}', header = true,
            columns = {{'number': 'VARCHAR', 'name': 'VARCHAR'}})"""
    )
    con.execute(
        f"""CREATE TABLE claims AS
            SELECT claim_id, institution_code, claim_month, payer,
                   patient.birth_date::DATE AS birth_date, CASE patient.sex WHEN 'male' THEN 1 ELSE 2 END AS sex,
                   insurer.insurer_number AS insurer_number, insurer.symbol AS symbol,
                   insurer.number AS number, insurer.branch AS branch,
                   insurer.basis AS basis,
                   visit_dates::DATE[] AS visit_dates,
                   points * 10 - patient_paid_yen AS yen,
                   coalesce(list_filter(tekiyo, lambda x: starts_with(x, 'カナ氏名：'))[1][6:],
                            patient.kana) AS kana
            FROM read_json('{claims}', format = 'newline_delimited')"""
    )
    loaded = time.perf_counter()
    con.execute(
        """
        CREATE TEMP TABLE fate AS
        WITH known AS (
            SELECT * FROM claims
            WHERE basis <> 'unknown' AND insurer_number NOT IN ('77777777', '77777779')
        ),
        written AS (  -- the qualification the claim's numbers name
            SELECT k.claim_id, k.institution_code, q.person_id,
                   bool_and(true) AS found,
                   bool_or(list_bool_and(list_transform(k.visit_dates,
                       lambda d: q.acquired_on <= d AND (q.lost_on IS NULL OR d < q.lost_on))))
                       AS valid_all
            FROM known k
            JOIN quals q ON q.insurer_number = k.insurer_number AND q.number = k.number
                        AND q.symbol IS NOT DISTINCT FROM k.symbol
                        AND (k.branch IS NULL OR q.branch = k.branch) AND q.visible = 1
            JOIN persons p ON p.id = q.person_id AND p.birth_date = k.birth_date
            GROUP BY ALL
        ),
        moved AS (    -- the same person's qualification on the first visit day
            SELECT w.claim_id, w.institution_code, min(q.insurer_number) AS to_insurer
            FROM written w JOIN known k USING (claim_id, institution_code)
            JOIN quals q ON q.person_id = w.person_id AND q.visible = 1
                        AND q.acquired_on <= k.visit_dates[1]
                        AND (q.lost_on IS NULL OR k.visit_dates[1] < q.lost_on)
            WHERE NOT w.valid_all
            GROUP BY ALL
        ),
        unknown AS (
            SELECT * FROM claims
            WHERE basis = 'unknown' OR insurer_number IN ('77777777', '77777779')
        ),
        found AS (    -- 不詳: the persons and insurers the 摘要 points at
            SELECT u.claim_id, u.institution_code,
                   count(DISTINCT q.insurer_number) AS insurers,
                   min(q.insurer_number) AS insurer
            FROM unknown u
            JOIN persons p ON p.kana = u.kana AND p.birth_date = u.birth_date AND p.sex = u.sex
            JOIN quals q ON q.person_id = p.id AND q.visible = 1
                        AND q.acquired_on <= u.visit_dates[1]
                        AND (q.lost_on IS NULL OR u.visit_dates[1] < q.lost_on)
            GROUP BY ALL
        )
        SELECT k.claim_id, k.institution_code, k.claim_month, k.payer, k.yen,
               CASE WHEN w.claim_id IS NULL THEN 'returned'
                    WHEN w.valid_all THEN 'billed'
                    WHEN m.to_insurer IS NULL THEN 'returned'
                    WHEN m.to_insurer = k.insurer_number THEN 'billed'
                    ELSE 'transferred' END AS fate,
               CASE WHEN w.valid_all THEN k.insurer_number ELSE m.to_insurer END AS insurer
        FROM known k
        LEFT JOIN written w USING (claim_id, institution_code)
        LEFT JOIN moved m USING (claim_id, institution_code)
        UNION ALL
        SELECT u.claim_id, u.institution_code, u.claim_month, u.payer, u.yen,
               CASE WHEN f.insurers = 1 THEN 'identified'
                    WHEN f.insurers > 1 THEN 'pending_inquiry'
                    ELSE 'apportion' END,
               CASE WHEN f.insurers = 1 THEN f.insurer END
        FROM unknown u LEFT JOIN found f USING (claim_id, institution_code)
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE shares AS
        WITH weights AS (
            SELECT institution_code, payer, claim_month, insurer, sum(yen) AS w
            FROM fate WHERE insurer IS NOT NULL GROUP BY ALL
        ),
        exact AS (
            SELECT f.claim_id, f.institution_code, w.insurer, f.yen,
                   f.yen * w.w // sum(w.w) OVER c AS floor_yen,
                   f.yen * w.w % sum(w.w) OVER c AS rest
            FROM fate f JOIN weights w USING (institution_code, payer, claim_month)
            WHERE f.fate = 'apportion'
            WINDOW c AS (PARTITION BY f.claim_id, f.institution_code)
        ),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY claim_id, institution_code
                                         ORDER BY rest DESC, insurer) AS r,
                   yen - sum(floor_yen) OVER (PARTITION BY claim_id, institution_code) AS remaining
            FROM exact
        )
        SELECT claim_id, institution_code, insurer,
               floor_yen + CASE WHEN r <= remaining THEN 1 ELSE 0 END AS yen
        FROM ranked
        """
    )
    bills = con.execute(
        """SELECT count(*) FROM (
             SELECT insurer, sum(yen) FROM (
               SELECT insurer, yen FROM fate WHERE insurer IS NOT NULL
               UNION ALL SELECT insurer, yen FROM shares)
             GROUP BY insurer)"""
    ).fetchone()[0]
    fates = dict(con.execute("SELECT fate, count(*) FROM fate GROUP BY fate").fetchall())
    # The shares must sum to each claim's yen, as onshi's do.
    bad = con.execute(
        """SELECT count(*) FROM (SELECT claim_id, institution_code, sum(yen) AS s FROM shares
             GROUP BY ALL) s JOIN fate f USING (claim_id, institution_code) WHERE s.s <> f.yen"""
    ).fetchone()[0]
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "claims": con.execute("SELECT count(*) FROM claims").fetchone()[0],
                "fates": fates,
                "bills": bills,
                "share_sum_mismatches": bad,
                "load_s": round(loaded - t0, 3),
                "sql_s": round(done - loaded, 3),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
