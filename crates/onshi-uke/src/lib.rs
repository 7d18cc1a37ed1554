//! # onshi-uke
//!
//! The electronic claim file of the レセプト電算処理システム (医科, the file
//! `RECEIPTC.UKE`): [`write_uke`] turns one institution's [`Claim`]s for one
//! payer and one 請求年月 into the file's bytes; [`UkeFile`] reads any such
//! file whole (a receipt computer's as well as onshi's) and gives it back byte
//! for byte, with typed facts of the fields onshi reads and edits of the
//! fields it owns; [`read_uke`] and [`claims_for_run`] turn a file into
//! claims. All are pure functions on bytes: no files, no network, no clock.
//!
//! May depend on: std, `onshi-core` (identifiers, 和暦, age bands, burden
//! amounts, 不詳 constants), `onshi-payer` (the [`Claim`] model only),
//! chrono, thiserror, encoding_rs. Nothing with I/O. Fields are split by hand
//! on `,` (no csv crate): UKE fields are never quoted (0x2C is never a CP932
//! trail byte, so the raw bytes split where the text does), and a comma, a
//! quote, CR or LF inside a value is refused on write.
//!
//! ## Physical format
//!
//! - Shift_JIS, as CP932 (`encoding_rs::SHIFT_JIS`, see [`sjis`]); CR LF after
//!   every record; one EOF byte 0x1A after the last CR LF. The EOF byte is
//!   \[I\]: both implementations we read write it (myclinic-ts `createRezept`
//!   ends with `"\r\n\x1A"`; a 歯科 project's golden test cites the
//!   記録条件仕様's physical rules as "Shift_JIS・CR+LF・EOF 0x1A"); the real
//!   sample (below) has none. Files are read with or without it, and
//!   [`UkeFile`] remembers which.
//! - Dates are **西暦**: 請求年月 and 診療年月 `YYYYMM`, 生年月日 and
//!   診療開始日 `YYYYMMDD`. This departs from the brief (which asked for
//!   和暦 `GYYMM`/`GYYMMDD`) on evidence: the smart-test receipt writer switches
//!   from 和暦 to 西暦 for output months from 2020-05 (`_outputYm < 202005`),
//!   myclinic-ts writes `YYYYMM` and `YYYYMMDD`, the 支払基金 作成手引き examples
//!   quoted by a 歯科 project use `202407` and `19720630`, one project's notes on the
//!   医科 記録条件仕様 (令和8年版, `R08bt1_1_kiroku.pdf`) list 請求年月 (西暦6)
//!   and 生年月日 (西暦8), and the real sample writes `202110` and `19911121`.
//!   The reader also takes the older 和暦 forms (`GYYMM`, `GYYMMDD`; era codes
//!   1 明治 … 5 令和), and refuses a 和暦 date outside its era.
//! - Characters: CP932 after mapping U+301C→U+FF5E, U+2016→U+2225,
//!   U+2212→U+FF0D (STACK.md §3). Anything else that does not encode and
//!   decode back to itself is refused with the character named; nothing is
//!   ever replaced. **Open point \[U\]:** a 歯科 implementation reads the
//!   記録条件仕様 as allowing only JIS X 0208 (so ① and 髙, which are NEC/IBM
//!   extensions, would be out of bounds). onshi accepts full CP932 as asked;
//!   check the 仕様 before submitting real claims.
//! - 英数 and 漢字: the 記録条件仕様 marks each text field 英数 (1-byte), 漢字
//!   (2-byte) or 英数又は漢字, and forbids mixing the two within a field
//!   \[C: the 仕様 as transcribed by meddatum; myclinic-ts `adjustString`].
//!   onshi writes a 漢字 field with its ASCII and 半角カナ in 全角 forms
//!   ([`width::to_zenkaku`]), and an 英数又は漢字 field (氏名) as is when it
//!   is all 1-byte characters, else all 全角.
//!
//! ## Records written (per file: IR, per claim RE HO SN JD MF SY… CO…, GO)
//!
//! Order inside a claim follows the smart-test writer (RE, HO, KO, SN, JD, MF,
//! SY, SI/IY/TO/CO). Tags: **\[C\]** order and meaning agree in two or more
//! independent sources; **\[I\]** one source or our inference; **\[U\]**
//! unconfirmed; **\[D\]** onshi's own choice.
//!
//! | record | fields in order (values onshi writes) | tag |
//! | --- | --- | --- |
//! | IR 医療機関情報 | 審査支払機関 (1 支払基金, 2 国保連) · 都道府県 · 点数表 `1` · 医療機関コード (7) · 予備 · 医療機関名称 (漢字, ≤40 bytes) · 請求年月 · マルチボリューム識別情報 `00` · 電話番号 (≤15 bytes) | \[C\] |
//! | RE レセプト共通 (38 fields) | レセプト番号 (1, 2, … in file order) · レセプト種別 ([`receipt_kind`]) · 診療年月 · 氏名 (英数又は漢字 ≤40 bytes: 全角, the 姓名 space U+3000, unless all 1-byte) · 男女区分 · 生年月日 · 給付割合 ([`benefit_field`]: 国保 only, see notes) · 入院年月日 · 病棟区分 · 一部負担金等区分 · レセプト特記事項 · 病床数 · カルテ番号等 (**all digits**, [`chart_number`]) · 割引点数単価 · 予備×3 · 検索番号 · 記録条件仕様年月情報 · 請求情報 · 診療科1–3 (5 fields each) · カタカナ（氏名） (≤80 bytes, spaces removed) · 患者の状態 | \[C\] order; values \[C\]/\[D\] |
//! | HO 保険者 (15 fields) | 保険者番号 (right-aligned in 8, spaces before a 6-digit 国保 number; 不詳 `77777777`/`77777779`) · 記号 (**全角**, empty for 不詳) · 番号 (**全角**; 不詳 `７７７７７７７７７`, 後期 `７７７７７７７７`) · 診療実日数 · 合計点数 · 予備 · 食事療養回数 · 食事療養合計金額 · 職務上の事由 · 証明書番号 · 負担金額 医療保険 (**the 一部負担金**) · 減免区分 · 減額割合 · 減額金額 | \[C\] order; 全角 \[I\]; see notes |
//! | SN 資格確認 (9 fields) | 負担者種別 `1` · 確認区分 `01` · 保険者番号等 · 記号 · 番号 (these three empty for 01) · 枝番 · 受給者番号 (empty) · 予備 | \[C\] |
//! | JD 受診日等 (33 fields) | 負担者種別 `1` · 1日…31日の情報 (`1` on each visit day, else empty) | \[I\] |
//! | MF 窓口負担額 (33 fields) | 窓口負担額区分 `00` (高額療養費の現物給付なし) · 予備×31 | \[I\] |
//! | SY 傷病名 (8 fields), one per `diagnoses` entry | 傷病名コード `0000999` (未コード化傷病名) · 診療開始日 (first visit of the month, \[D\]) · 転帰区分 `1` · 修飾語コード · 傷病名称 (漢字, 全角) · 主傷病 (empty) · 補足コメント | \[C\] order; 転帰 1 \[I\] |
//! | CO コメント (5 fields), one per `tekiyo` line | 診療識別 `99` (全体) · 負担区分 `1` · コメントコード `810000001` (フリーコメント) · 文字データ (漢字, 全角) | \[C\] order; codes \[I\] |
//! | GO 請求書 | 総件数 · 総合計点数 · マルチボリューム識別情報 `99` | \[C\] |
//!
//! Notes on values:
//! - **給付割合** is written for 国保 (市町村国保, 国保組合, 退職者医療) and left
//!   empty otherwise, as the 記録条件仕様 asks (「国民健康保険及び退職者医療の
//!   場合、給付割合を百分率で記録する」「その他の場合 原則的に記録を省略
//!   する」) \[C: the 仕様 as transcribed by meddatum; myclinic-ts
//!   `commonRecord給付割合`; receiptisan's field note, per the 2026-12-02
//!   review]. The exception \[D\]: when the burden is not the one a reader
//!   infers from the レセプト種別 (10割; a declared ratio other than the age
//!   rule's; 後期 2割, which only 特記事項 41 区カ would say and onshi does not
//!   write), 給付割合 is written anyway, since [`Claim::burden_ratio_percent`]
//!   has no other home. The reader, given an empty 給付割合, infers the ratio
//!   from the レセプト種別 and 特記事項 41 区カ.
//! - **カルテ番号等** ("カルテ番号又は患者ID番号等", 英数 ≤20) is all digits:
//!   one published parser takes the last all-digit field of RE as the patient
//!   number \[I: OpenReceView, per the review\]. A claim_id of 1–20 digits is
//!   written as is; any other becomes 16 digits from a hash (FNV-1a, fixed
//!   across platforms and releases) of the claim_id without a leading
//!   `YYYYMM-` of its 診療年月, so one patient key keeps one number from month
//!   to month \[D\]. Two claims of one 診療年月 with the same number are
//!   refused (`chart_number_collision`); any claim_id can be written now (the
//!   old `claim_id_not_representable` is gone).
//! - **記号・番号** are written in 全角 as the real sample writes them
//!   (`１`, `１９Ｄ０００１`) \[I\]; the 仕様 also allows 英数 mode, which
//!   myclinic-ts uses for all-ASCII values. The reader folds 全角 ASCII
//!   back ([`width::fold_alnum`], what NFKC does), so both forms read as the
//!   same value, the one onshi-core's 記号・番号 parsers give.
//! - **負担金額 医療保険** carries [`Claim::patient_paid_yen`] on every claim
//!   \[D\]; the 仕様 asks for it only "が必要な場合" \[C\].
//! - **レセプト種別**: 1112 本人 / 1116 家族 / 1114 未就学者 / 1118 or 1110
//!   高齢受給者, 1318 or 1310 後期 (外来, no 公費). Claim has no 本人/家族 flag:
//!   a 枝番 other than `00` is taken as 家族 \[I\].
//! - **SN** leaves 保険者番号等・記号・番号 empty for 確認区分 01, as the 作成手引き
//!   example `SN,1,01,,,,03,,` (quoted by a 歯科 project) and myclinic-ts do.
//!   onshi's Claim carries no other 確認区分, so 01 is always written.
//! - **Byte limits** enforced on write, after the 全角 forms: 医療機関名称 40,
//!   電話番号 15, 氏名 40, カタカナ氏名 80, 記号 38, 番号 38, カルテ番号等 20
//!   \[C\]. The widths of 傷病名称 and the CO 文字データ in 医科 are \[U\] (40
//!   and 76 bytes in the older 仕様) and not enforced (smart-test wraps free
//!   comments at 38 characters; onshi keeps one line per record so that 摘要
//!   lines read back unchanged).
//!
//! Not written: **KO** (onshi's Claim carries no 公費), **SI/IY/TO** (Claim
//! has no line items; only the total points in HO), **SJ**, **GR**. Files
//! that have them are read and kept by [`UkeFile`].
//!
//! ## Reading: the whole file ([`UkeFile`])
//!
//! [`UkeFile::parse`] keeps every record as the bytes it was read as, in
//! order: a leading UK (受付情報; 歯科 files have one, one parser mentions it
//! for online 医科 files \[U\]), IR, records between IR and the first RE,
//! each receipt (RE and every record up to the next RE or GO), GO, and the
//! EOF byte or its absence. [`UkeFile::to_bytes`] gives back exactly the
//! bytes read. Each record knows its line, its receipt ([`UkeFile::places`]),
//! and the record it follows ([`Receipt::follows`]); a CO knows the SI/IY/TO
//! it comes after ([`Receipt::line_item_of`]).
//!
//! | record | what onshi reads ([`ReceiptFacts`]) | otherwise |
//! | --- | --- | --- |
//! | IR | the [`UkeInstitution`] (payer, code, name, 請求年月, phone); one volume only | — |
//! | RE | レセプト番号, レセプト種別 (→ [`ReceiptClass`]), 診療年月, 氏名, 男女区分, 生年月日, 給付割合, 特記事項, カルテ番号等, カタカナ氏名 | the other fields kept |
//! | HO | 保険者番号, 記号, 番号 (全角 folded), 実日数, 点数, 負担金額 | — |
//! | KO | 負担者番号 (8 digits), 受給者番号 (≤7 digits, or empty), 実日数, 点数, 公費 負担金額 | read, never written |
//! | SN, JD | 負担者種別 1 (医療保険): 確認区分, 枝番; the day marks | 公費 負担者 (2–5): kept, not read |
//! | MF | 窓口負担額区分 00/01/02 | — |
//! | SY | 傷病名コード, 診療開始日, 転帰区分 checked; the name (or the code) | all 8 fields kept |
//! | CO | コメントコード checked; 810000001 lines of the whole receipt (診療識別 99 and the lines with an empty 診療識別 that continue them) become `tekiyo` \[D\] | other codes, and 用法 etc. under 22/23/…, kept with the record they follow |
//! | SI, IY | only the 1日…31日の情報, for the visit dates of a receipt without JD | kept |
//! | TO, SJ, GR, KH, any other id of two capital letters | nothing | kept |
//! | GO | 総件数 and 総合計点数 checked | — |
//!
//! Checks (each refusal a typed [`UkeError`]; nothing panics, fuzzed in the
//! tests): CP932 bytes, CR LF after every record, no control character or
//! 外字; IR first (after a UK), GO last, nothing after it; a record id is two
//! capital ASCII letters (else `unknown_record`; an id onshi does not know is
//! kept, not refused); HO, KO, SN, JD, MF, SY, CO never before the first RE;
//! the fields onshi reads hold what the 仕様 puts there; the レセプト種別 is
//! 医科 and agrees with the records (医保 needs HO, 併用 and 公費単独 need KO,
//! 公費単独 has no HO, 医保単独 no KO); HO 実日数 equals the JD marks counted
//! (mark 1); GO 総合計点数 is the sum of each receipt's 主保険 points (HO, or
//! the first KO of a 公費単独 receipt) \[C: the 仕様 "各レセプトの主保険に係る
//! 合計点数を合算"; the sample\], and GO 総件数 is either the number of
//! receipts (as onshi writes it) or one 件 per 負担者 (HO and each KO) of
//! every receipt, as the real sample counts (140 for 75 receipts) \[I\].
//!
//! Receipts become claims ([`UkeFile::claims`]; [`read_uke`] and
//! [`claims_for_run`] use it):
//! - **医保単独 and 併用** receipts are claims on the insurer: the HO, the
//!   patient, the burden, the 医保 points. A 併用 receipt's KO stays in the
//!   file, not in the claim.
//! - **公費単独** receipts are not insurer claims: `kouhi_only_not_insurer_claim`
//!   for that receipt ([`ReceiptProblem`]).
//! - **Visit dates** come from the JD of the 医療保険 負担者; without one (the
//!   real sample has none), from the days on which an SI or IY record counts
//!   anything \[D\]; HO 実日数 is not checked against those (a day of 算定
//!   is not always a day of 診療). With neither, no date is invented: the
//!   receipt is `no_visit_dates` (the payer run judges qualification on the
//!   dates, so a made-up first of the month could move a claim to the wrong
//!   insurer).
//! - **給付割合** other than 90, 80, 70, 0 (30 for a 被爆者, …) is no burden
//!   a Claim holds: `unsupported_benefit_ratio`.
//! - **負担金額** not recorded (the 仕様 asks for it only where needed): the
//!   window amount of the burden on the points, rounded as at the window
//!   ([`onshi_core::burden::window_amount`]) \[D\], not 0 yen.
//! - **claim_id**: the カルテ番号等, else the レセプト番号; when two 医保
//!   receipts of one 診療年月 share a カルテ番号等 (an insurance changed within
//!   the month), each gets `-<レセプト番号>` \[D\], so the payer run does not
//!   take the second for a duplicate.
//!
//! [`read_uke`] is all or nothing: the first receipt that is not a claim
//! refuses the file, with the errors it gave before (`unsupported_record`
//! for 公費単独, `missing_record` JD for no dates, `malformed_record` for the
//! 給付割合). [`claims_for_run`] refuses only what [`UkeFile::parse`] refuses
//! and reports the rest receipt by receipt.
//!
//! **Edits** ([`UkeFile::set_insurer`], [`UkeFile::set_patient_paid`]) rewrite
//! the HO fields onshi owns, what a 振替 or the identification of a 不詳 claim
//! changes, and nothing else: every other byte of the file stays as read.
//! They check the new value (検証番号, 不詳 without 記号, widths) and read the
//! receipt again; a failed edit changes nothing.
//!
//! ## What the file cannot carry, and how a claim reads back
//!
//! | Claim field | in the file | read gives |
//! | --- | --- | --- |
//! | `claim_id` | RE カルテ番号等: [`chart_number`] (the id itself if 1–20 digits) | the カルテ番号等, or the レセプト番号 when empty; so a non-numeric claim_id is **lost** (callers match it with [`chart_number`]) |
//! | `institution_code`, `payer` | IR only | copied from IR to every claim |
//! | `insurer.basis` | nowhere | `Unknown` for 77777777/77777779, else `Confirmed` (a 旧資格 or 口頭 basis reads as `Confirmed`) |
//! | `insurer.insurer_number` | HO, space-padded | without the padding |
//! | `insurer.symbol`, `insurer.number` | 全角 | 全角 ASCII folded back (`１９Ｄ` → `19D`, U+2212 → `-`); 半角カナ comes back 全角 |
//! | `insurer.symbol`, `patient.kana` | empty when absent | `None` for an empty field (`Some("")` reads as `None`) |
//! | `patient.name` | 全角 unless all 1-byte | the 全角 form (`山田 太郎` → `山田　太郎`) |
//! | `patient.kana` | spaces removed | the kana without the 姓/名 space |
//! | `burden_ratio_percent` | 給付割合, or the レセプト種別 | the same burden |
//! | `visit_dates` | JD day marks | sorted, without duplicates |
//! | `tekiyo`, `diagnoses` | 漢字 fields, 全角 | the 全角 form (`090-1` → `０９０－１`) |
//! | text | after the three mappings | U+FF5E for an input U+301C, etc. |
//! | `UkeInstitution::name` | 漢字 field, 全角 | the 全角 form |
//! | `UkeInstitution::billing_month` | 請求年月 | the first day of that month |
//! | `UkeInstitution::phone` | 電話番号 | `None` when empty |
//! | SY with a real 傷病名コード (other systems) | — | the 傷病名称 if present, else the code |
//! | CO with another comment code or 診療識別 | — | kept in the file, not in `tekiyo` |
//!
//! `write_uke` does not check that each 診療年月 precedes the 請求年月 (月遅れ
//! claims are normal) and writes every claim to the payer of the file: claims
//! for another payer or institution are refused, not routed. Reading does not
//! run [`Claim::validate`] ([`claims_for_run`] does, as intake).
//!
//! ## Sources read
//!
//! - The 記録条件仕様 (医科, an older 和暦 version) as transcribed with its
//!   field notes in `kuenishi/meddatum` `include/rezept_med.hrl`: IR, RE
//!   (給付割合, 氏名, カルテ番号等 rules), HO (記号・番号 modes), KO, SY, SI,
//!   IY, TO, CO, GO (総件数, 総合計点数 "主保険").
//! - The real sample `tests/data/RECEIPTC_GAIRAI_SAMPLE.UKE` (yokenzan/receiptisan,
//!   MIT) and `../shared/reviews/2026-12-02-uke-clients.md` (what receiptisan
//!   and OpenReceView make of onshi's files and onshi of theirs).
//! - `hangilc/myclinic-ts` `packages/rezept/records/*.ts` (IR, HO, SN, SY, CO,
//!   KO), `record-creators.ts`, `helper.ts` (`commonRecord給付割合`,
//!   `adjustString`), `codes.ts` (レセプト種別 base and offsets, 特記事項 codes),
//!   the RE and GO builders (seen through `find_string`).
//! - `Sotatek-ChinhVu/smart-test` `EmrCalculateApi/Receipt/Models/`:
//!   `ReceiptDataModel.cs` (RE, all 38 fields; the 2020-05 和暦→西暦 switch;
//!   record order), `HokenDataModel.cs` (HO), `SikakuJyohoDataModel.cs` (SN),
//!   `JyusinbiDataModel.cs` and the `SetReceInfJd` routine (JD marks 1/2),
//!   `MadoguchiFutanDataModel.cs` (MF), `SinMeiDataModel.cs` (CO).
//! - blue0513 `jp-medical-recept-reader` (Emacs): field names of IR, RE (38),
//!   HO, KO, SY, SI, IY, TO, CO, SJ.
//! - A 歯科 UKE project's schema and golden tests (記録条件仕様（歯科用）令和8年6月版,
//!   支払基金 作成手引き examples; field widths, EOF, JIS X 0208 remark), and
//!   a 訪問看護 record table quoting the 給付割合 and カタカナ氏名 rules.
//! - DOMAIN.md §1.3 (不詳 encoding), §2.1 (SN 確認区分), §6 (identifiers);
//!   STACK.md §3 (encoding_rs, the three mappings).
//!
//! The current MHLW 記録条件仕様（医科用） PDF itself was not read; JD and MF
//! (2020-05 onwards) are not in the transcription above.

pub mod error;
pub mod file;
pub mod layout;
mod read;
pub mod sjis;
pub mod width;
mod write;

use chrono::NaiveDate;
use onshi_core::Payer;

pub use error::{FieldAt, UkeError};
pub use file::{
    Insurance, Kouhi, Place, Receipt, ReceiptClass, ReceiptFacts, ReceiptProblem, Record, UkeFile,
    VisitSource,
};
pub use onshi_payer::claim::Claim;
pub use read::{parse_date, parse_month, read_uke};
pub use write::{
    MAX_CLAIMS, benefit_field, chart_number, is_dependant, is_kokuho, is_kouki, payer_code,
    receipt_kind, write_uke,
};

/// The institution part of a claim file (the IR record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UkeInstitution {
    /// 審査支払機関 the file goes to.
    pub payer: Payer,
    /// 医療機関コード, 10 digits: 都道府県 (2) + 点数表 (1, must be 1 医科) + 7.
    pub institution_code: String,
    /// 医療機関名称 (at most 40 Shift_JIS bytes).
    pub name: String,
    /// 電話番号 (at most 15 bytes).
    pub phone: Option<String>,
    /// Any day of the 請求年月; read back as its first day.
    pub billing_month: NaiveDate,
}

/// A claim file as input to the payer run: one entry per receipt, labelled
/// `uke:<position>` (1-based, 6 digits), with the claim after intake
/// validation, like the JSON Lines claims. The file is read whole
/// ([`UkeFile::parse`]); only a file that is not a 医科 claim file is refused.
/// A receipt that is not an insurer claim is reported in its place: a
/// 公費単独 receipt as `kouhi_only_not_insurer_claim`, one without visit
/// dates as `no_visit_dates`, one whose 給付割合 onshi's claims cannot hold
/// as `unsupported_benefit_ratio` (see [`ReceiptProblem`]).
pub fn claims_for_run(bytes: &[u8]) -> Result<Vec<onshi_payer::claim::ClaimInput>, UkeError> {
    Ok(UkeFile::parse(bytes)?.claim_inputs())
}
