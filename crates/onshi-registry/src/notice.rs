//! The registration-status notice (notice §5(1)): the insurer tells a member
//! that their qualification is registered in オンライン資格確認等システム and can
//! be checked with the マイナ保険証, so the member need not fill a
//! 被保険者資格申立書 at the window. Only a matched (visible) registration can
//! be notified: a mismatched one is not checkable yet.

use chrono::NaiveDate;
use onshi_core::WarekiDate;
use onshi_store::InsurerRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::RegistryError;

/// The notice as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegistrationNotice {
    pub title: String,
    pub qualification_id: i64,
    pub member_name: String,
    pub member_kana: String,
    pub insurer_number: String,
    pub insurer_name: String,
    pub insured_symbol: Option<String>,
    pub insured_number: String,
    pub insured_branch: Option<String>,
    pub acquired_on: NaiveDate,
    /// The day the registration reached the registry.
    pub registered_on: String,
    /// What the member can now do, in Japanese.
    pub message: String,
    pub issued_on: NaiveDate,
}

const TITLE: &str = "オンライン資格確認等システムへの資格情報登録のお知らせ";

/// Builds the notice for a record on `issued_on`; `NotVisible` for a record
/// whose 5 attributes do not match (it is not checkable yet).
pub fn notice_for(
    r: &InsurerRecord,
    issued_on: NaiveDate,
) -> Result<RegistrationNotice, RegistryError> {
    if !r.visible {
        return Err(RegistryError::NotVisible);
    }
    let q = &r.qualification;
    Ok(RegistrationNotice {
        title: TITLE.into(),
        qualification_id: r.id,
        member_name: r.declared.name.to_string(),
        member_kana: r.declared.kana.to_string(),
        insurer_number: q.numbers.insurer_number.to_string(),
        insurer_name: r.insurer_name.clone(),
        insured_symbol: q.numbers.symbol.as_ref().map(ToString::to_string),
        insured_number: q.numbers.number.to_string(),
        insured_branch: q.numbers.branch.map(|b| b.to_string()),
        acquired_on: q.acquired_on,
        registered_on: r.registered_at.get(..10).unwrap_or(&r.registered_at).to_owned(),
        message: "あなたの医療保険の資格情報は、オンライン資格確認等システムに登録されました。\
                  医療機関・薬局の窓口で、マイナ保険証（マイナンバーカード）により資格を確認できます。\
                  登録内容はマイナポータルの「健康保険証」の画面でも確認できます。"
            .into(),
        issued_on,
    })
}

fn wareki(d: NaiveDate) -> String {
    WarekiDate::from_gregorian(d)
        .map(|w| w.to_string())
        .unwrap_or_else(|_| d.to_string())
}

/// The notice as printable Japanese text (A4, monospace-friendly).
pub fn render_text(n: &RegistrationNotice) -> String {
    let numbers = format!(
        "{}{}{}",
        n.insured_symbol
            .as_deref()
            .map(|s| format!("{s}・"))
            .unwrap_or_default(),
        n.insured_number,
        n.insured_branch
            .as_deref()
            .map(|b| format!("（枝番 {b}）"))
            .unwrap_or_default(),
    );
    let registered = n
        .registered_on
        .parse::<NaiveDate>()
        .map(wareki)
        .unwrap_or_else(|_| n.registered_on.clone());
    let rows = [
        ("保険者名", n.insurer_name.clone()),
        ("保険者番号", n.insurer_number.clone()),
        ("記号・番号", numbers),
        ("資格取得日", wareki(n.acquired_on)),
        ("登録日", registered),
    ];
    let mut out = format!(
        "{}\n\n{}（{}）様\n\n{}\n\n",
        n.title, n.member_name, n.member_kana, n.message
    );
    for (label, value) in rows {
        // Labels padded with full-width spaces to 8 columns.
        let pad = "\u{3000}".repeat(8usize.saturating_sub(label.chars().count()));
        out.push_str(&format!("\u{3000}{label}{pad}{value}\n"));
    }
    out.push_str("\n※ 登録内容に誤りがある場合は、保険者までお問い合わせください。\n\n");
    out.push_str(&format!("{}\n{}\n", wareki(n.issued_on), n.insurer_name));
    out
}
