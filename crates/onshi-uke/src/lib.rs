//! # onshi-uke
//!
//! The electronic claim file of the レセプト電算処理システム (医科, the file
//! `RECEIPTC.UKE`) for onshi's [`Claim`] documents: [`write_uke`] turns one
//! institution's claims for one payer and one 請求年月 into the file's bytes,
//! [`read_uke`] reads such a file back. Both are pure functions on bytes: no
//! files, no network, no clock.
//!
//! May depend on: std, `onshi-core` (identifiers, 和暦, age bands, 不詳
//! constants), `onshi-payer` (the [`Claim`] model only), chrono, thiserror,
//! encoding_rs. Nothing with I/O. Fields are split by hand on `,` (no csv
//! crate): UKE fields are never quoted, and a comma, a quote, CR or LF inside
//! a value is refused on write.
//!
//! ## Physical format
//!
//! - Shift_JIS, as CP932 (`encoding_rs::SHIFT_JIS`, see [`sjis`]); CR LF after
//!   every record; one EOF byte 0x1A after the last CR LF. The EOF byte is
//!   \[I\]: both implementations we read write it (myclinic-ts `createRezept`
//!   ends with `"\r\n\x1A"`; a 歯科 project's golden test cites the
//!   記録条件仕様's physical rules as "Shift_JIS・CR+LF・EOF 0x1A"). The
//!   reader accepts the file with or without the 0x1A.
//! - Dates are **西暦**: 請求年月 and 診療年月 `YYYYMM`, 生年月日 and
//!   診療開始日 `YYYYMMDD`. This departs from the brief (which asked for
//!   和暦 `GYYMM`/`GYYMMDD`) on evidence: the smart-test receipt writer switches
//!   from 和暦 to 西暦 for output months from 2020-05 (`_outputYm < 202005`),
//!   myclinic-ts writes `YYYYMM` and `YYYYMMDD`, the 支払基金 作成手引き examples
//!   quoted by a 歯科 project use `202407` and `19720630`, and one project's notes on the
//!   医科 記録条件仕様 (令和8年版, `R08bt1_1_kiroku.pdf`) list 請求年月 (西暦6)
//!   and 生年月日 (西暦8).
//!   The reader also takes the older 和暦 forms (`GYYMM`, `GYYMMDD`; era codes
//!   1 明治 … 5 令和), and refuses a 和暦 date outside its era.
//! - Characters: CP932 after mapping U+301C→U+FF5E, U+2016→U+2225,
//!   U+2212→U+FF0D (STACK.md §3). Anything else that does not encode and
//!   decode back to itself is refused with the character named; nothing is
//!   ever replaced. **Open point \[U\]:** a 歯科 implementation reads the
//!   記録条件仕様 as allowing only JIS X 0208 (so ① and 髙, which are NEC/IBM
//!   extensions, would be out of bounds). onshi accepts full CP932 as asked;
//!   check the 仕様 before submitting real claims.
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
//! | IR 医療機関情報 | 審査支払機関 (1 支払基金, 2 国保連) · 都道府県 · 点数表 `1` · 医療機関コード (7) · 予備 · 医療機関名称 (≤40 bytes) · 請求年月 · マルチボリューム識別情報 `00` · 電話番号 (≤15 bytes) | \[C\] |
//! | RE レセプト共通 (38 fields) | レセプト番号 (1, 2, … in file order) · レセプト種別 ([`receipt_kind`]) · 診療年月 · 氏名 (≤40 bytes) · 男女区分 · 生年月日 · 給付割合 (100 − 負担割合) · 入院年月日 · 病棟区分 · 一部負担金等区分 · レセプト特記事項 · 病床数 · カルテ番号等 (**the claim_id**, \[D\]) · 割引点数単価 · 予備×3 · 検索番号 · 記録条件仕様年月情報 · 請求情報 · 診療科1–3 (5 fields each) · カタカナ（氏名） (≤80 bytes, spaces removed) · 患者の状態 | \[C\] order; values \[D\] |
//! | HO 保険者 (15 fields) | 保険者番号 (right-aligned in 8, spaces before a 6-digit 国保 number; 不詳 `77777777`/`77777779`) · 記号 (empty for 不詳) · 番号 (不詳 `777777777`, 後期 `77777777`) · 診療実日数 · 合計点数 · 予備 · 食事療養回数 · 食事療養合計金額 · 職務上の事由 · 証明書番号 · 負担金額 医療保険 (**the 一部負担金**) · 減免区分 · 減額割合 · 減額金額 | \[C\] order; see notes |
//! | SN 資格確認 (9 fields) | 負担者種別 `1` · 確認区分 `01` · 保険者番号等 · 記号 · 番号 (these three empty for 01) · 枝番 · 受給者番号 (empty) · 予備 | \[C\] |
//! | JD 受診日等 (33 fields) | 負担者種別 `1` · 1日…31日の情報 (`1` on each visit day, else empty) | \[I\] |
//! | MF 窓口負担額 (33 fields) | 窓口負担額区分 `00` (高額療養費の現物給付なし) · 予備×31 | \[I\] |
//! | SY 傷病名 (8 fields), one per `diagnoses` entry | 傷病名コード `0000999` (未コード化傷病名) · 診療開始日 (first visit of the month, \[D\]) · 転帰区分 `1` · 修飾語コード · 傷病名称 · 主傷病 (empty) · 補足コメント | \[C\] order; 転帰 1 \[I\] |
//! | CO コメント (5 fields), one per `tekiyo` line | 診療識別 `99` (全体) · 負担区分 `1` · コメントコード `810000001` (フリーコメント) · 文字データ | \[C\] order; codes \[I\] |
//! | GO 請求書 | 総件数 · 総合計点数 · マルチボリューム識別情報 `99` | \[C\] |
//!
//! Notes on values:
//! - **給付割合** is written on every claim \[D\]. The 記録条件仕様 records it
//!   for 国保 only and leaves it empty otherwise (\[I\]: the rule as quoted for
//!   訪問看護; myclinic-ts and smart-test both leave it empty for 社保 and
//!   後期). onshi writes it because [`Claim::burden_ratio_percent`] has no other
//!   home: レセプト種別 and 特記事項 cannot express 10割 or a declared ratio that
//!   differs from the age rule. **Revisit before submitting to 支払基金.** The
//!   reader, given an empty 給付割合 (another system's 社保 file), infers the
//!   ratio from the レセプト種別 and 特記事項 41 区カ.
//! - **負担金額 医療保険** carries [`Claim::patient_paid_yen`] on every claim
//!   \[D\]; the 仕様 asks for it only in some cases (e.g. 高額療養費の現物給付;
//!   myclinic-ts comment) \[U\].
//! - **レセプト種別**: 1112 本人 / 1116 家族 / 1114 未就学者 / 1118 or 1110
//!   高齢受給者, 1318 or 1310 後期 (外来, no 公費). Claim has no 本人/家族 flag:
//!   a 枝番 other than `00` is taken as 家族 \[I\].
//! - **SN** leaves 保険者番号等・記号・番号 empty for 確認区分 01, as the 作成手引き
//!   example `SN,1,01,,,,03,,` (quoted by a 歯科 project) and myclinic-ts do.
//!   onshi's Claim carries no other 確認区分, so 01 is always written.
//! - **Byte limits** enforced on write: 医療機関名称 40, 電話番号 15, 氏名 40,
//!   カタカナ氏名 80, 記号 38, 番号 38, カルテ番号等 20 \[I\]. 英数/漢字 mode
//!   (no mixing within a field) is **not** enforced; the widths of 傷病名称 and
//!   the CO 文字データ in 医科 are \[U\] and not enforced (smart-test wraps free
//!   comments at 38 characters; onshi keeps one line per record so that 摘要
//!   lines read back unchanged).
//!
//! Not written: **KO** (onshi's Claim carries no 公費; the reader refuses KO
//! and 公費 SN/JD rather than drop them), **SI/IY/TO** (Claim has no line
//! items; only the total points in HO), **SJ**, **GR**. The reader skips SI,
//! IY, TO, SJ, GR, TI, TR, TS; any other unknown record id is an error
//! (`unknown_record`).
//!
//! ## What the file cannot carry, and how [`read_uke`] fills it
//!
//! | Claim field | in the file | read gives |
//! | --- | --- | --- |
//! | `claim_id` | RE カルテ番号等 (printable ASCII ≤ 20 bytes, else `write_uke` refuses) | カルテ番号等, or the レセプト番号 when empty |
//! | `institution_code`, `payer` | IR only | copied from IR to every claim |
//! | `insurer.basis` | nowhere | `Unknown` for 77777777/77777779, else `Confirmed` (a 旧資格 or 口頭 basis reads as `Confirmed`) |
//! | `insurer.insurer_number` | HO, space-padded | without the padding |
//! | `insurer.symbol`, `patient.kana` | empty when absent | `None` for an empty field (`Some("")` reads as `None`) |
//! | `patient.kana` | spaces removed | the kana without the 姓/名 space |
//! | `visit_dates` | JD day marks | sorted, without duplicates |
//! | text | after the three mappings | U+FF5E for an input U+301C, etc. |
//! | `UkeInstitution::billing_month` | 請求年月 | the first day of that month |
//! | `UkeInstitution::phone` | 電話番号 | `None` when empty |
//! | SY with a real 傷病名コード (other systems) | — | the 傷病名称 if present, else the code |
//! | CO with another comment code | — | skipped (only 810000001 lines become `tekiyo`) |
//!
//! `write_uke` does not check that each 診療年月 precedes the 請求年月 (月遅れ
//! claims are normal) and writes every claim to the payer of the file: claims
//! for another payer or institution are refused, not routed.
//!
//! `read_uke` skips a leading UK (受付情報) record if present (歯科 files
//! have one; one parser mentions it for online 医科 files \[U\]), then checks
//! structure, codes, dates and totals (GO 総件数/総合計点数,
//! HO 診療実日数 against JD); it does not run [`Claim::validate`] (intake is
//! the caller's step). It never panics (fuzzed in the tests).
//!
//! ## Sources read
//!
//! - `hangilc/myclinic-ts` `packages/rezept/records/*.ts` (IR, HO, SN, SY, CO,
//!   KO), `record-creators.ts`, `helper.ts`, `codes.ts` (レセプト種別 base and
//!   offsets, 特記事項 codes), the RE and GO builders (seen through
//!   `find_string`).
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
//! The MHLW 記録条件仕様（医科用） PDF itself was not read.

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
    Insurance, Kouhi, Receipt, ReceiptClass, ReceiptFacts, ReceiptProblem, Record, UkeFile,
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
