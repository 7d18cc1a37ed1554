//! The page layout, form helpers, Japanese labels, and the check-answer
//! panel shared by the desk and the failure mode.

use chrono::{DateTime, Local, NaiveDate};
use maud::{DOCTYPE, Markup, html};
use onshi_registry::check::{CheckAnswer, QualificationView};
use onshi_registry::{Caller, RegistryError};

use crate::session::Session;

/// Errors of one form, by field name (the services' field names).
#[derive(Debug, Default, Clone)]
pub struct FieldErrors {
    items: Vec<(String, String)>,
}

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: &str) {
        self.items.push((field.to_owned(), message.to_owned()));
    }

    /// A service's refusal: next to its field (or fields, for "one of"), or
    /// at the top of the form.
    pub fn from_registry(e: &RegistryError) -> Self {
        let mut f = FieldErrors::default();
        let text = error_text(e);
        match e.field() {
            Some(fields) => {
                for name in fields.split(',') {
                    let name = name.rsplit('.').next().unwrap_or(name);
                    f.add(name, &text);
                }
            }
            None => f.add("", &text),
        }
        f
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// Messages whose field is not one of `shown` (shown at the top).
    pub fn others(&self, shown: &[&str]) -> Vec<&str> {
        self.items
            .iter()
            .filter(|(f, _)| !shown.contains(&f.as_str()))
            .map(|(_, m)| m.as_str())
            .collect()
    }
}

/// The Japanese label of an input field name.
pub fn field_label(field: &str) -> &str {
    match field {
        "certificate_serial" => "電子証明書のシリアル番号",
        "insurer_number" => "保険者番号",
        "insured_symbol" => "記号",
        "insured_number" => "番号",
        "insured_branch" => "枝番",
        "birth_date" => "生年月日",
        "checked_on" => "資格確認日",
        "visited_on" => "受診日",
        "staff_id" => "担当者ID",
        "patient_key" => "診察券番号",
        "name" => "氏名",
        "kana" => "カナ氏名",
        "sex" => "性別",
        "address" => "住所",
        "insurer_name" => "保険者名",
        "phone" => "電話番号",
        "employer" => "事業所名",
        "declared_on" => "記入日",
        "signature" => "署名",
        "ratio" | "ratio_percent" => "負担割合",
        "points" => "点数",
        "contact_name" => "担当者名",
        "report" => "利用報告",
        "called_number" => "折り返しの電話番号",
        "operator" => "オペレーター",
        "hours" => "有効時間",
        "as_of" => "判定日",
        "mode" => "モード",
        "kind" => "種類",
        other => other,
    }
}

/// The Japanese message of a refusal, without the English field prefix the
/// API keeps (the UI shows the message next to the field instead).
pub fn error_text(e: &RegistryError) -> String {
    match e {
        RegistryError::Invalid(p) => p.kind.to_string(),
        RegistryError::Missing(_) => "入力してください".into(),
        RegistryError::NotAllowed(_) => "この照会では入力できません".into(),
        RegistryError::BadValue { message, .. } => message.clone(),
        RegistryError::MissingOneOf(a, b) => format!(
            "{}または{}のどちらかを入力してください",
            field_label(a),
            field_label(b)
        ),
        RegistryError::OtherInsurer => "自保険者以外の保険者番号は登録・訂正できません".into(),
        other => other.to_string(),
    }
}

/// The Japanese message for a refusal code kept on a visit.
pub fn refusal_text(code: &str) -> String {
    match code {
        "certificate_expired" => "電子証明書の有効期限が切れています（3か月の猶予期間も経過）。資格確認書等で確認してください".into(),
        "certificate_revoked" => RegistryError::CertificateRevoked.to_string(),
        "certificate_unknown" => RegistryError::CertificateUnknown.to_string(),
        "reader_unavailable" => RegistryError::ReaderUnavailable.to_string(),
        "network_unreachable" => RegistryError::NetworkUnreachable.to_string(),
        "registry_unavailable" => RegistryError::RegistryUnavailable.to_string(),
        "no_identifiers" => "照会に使えるカード・記号番号がありません".into(),
        other => other.to_owned(),
    }
}

/// One labelled form field with its error next to it.
pub fn field(errors: &FieldErrors, name: &str, label: &str, input: Markup) -> Markup {
    let err = errors.get(name);
    html! {
        div.field.has-error[err.is_some()] {
            label for=(name) { (label) }
            (input)
            @if let Some(m) = err {
                span.field-error role="alert" { (m) }
            }
        }
    }
}

/// Errors of a form not tied to a shown field.
pub fn form_errors(errors: &FieldErrors, shown: &[&str]) -> Markup {
    let others = errors.others(shown);
    html! {
        @if !others.is_empty() {
            div.error-box role="alert" {
                @for m in others { p { (m) } }
            }
        }
    }
}

/// A page without the session header (login, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="ja" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " | onshi" }
                link rel="stylesheet" href="/ui/static/style.css";
            }
            body { (body) }
        }
    }
}

fn role_label(c: &Caller) -> &'static str {
    match c {
        Caller::Institution(_) => "医療機関・薬局（受付）",
        Caller::Insurer(_) => "保険者",
        Caller::Payer => "審査支払機関",
        Caller::Operator => "コールセンター（運用者）",
        Caller::Patient(_) => "患者（本人）",
    }
}

fn nav(c: &Caller) -> Vec<(&'static str, &'static str)> {
    match c {
        Caller::Institution(_) => vec![
            ("/ui/desk", "受付"),
            ("/ui/desk/history", "資格確認履歴"),
            ("/ui/desk/rechecks", "事後確認"),
            ("/ui/desk/claims", "月次請求"),
            ("/ui/desk/failure-mode", "障害時モード"),
        ],
        Caller::Insurer(_) => vec![("/ui/insurer", "保険者ポータル")],
        Caller::Payer => vec![("/ui/payer", "審査支払")],
        Caller::Operator => vec![("/ui/operator", "利用申請・報告")],
        Caller::Patient(_) => vec![("/ui/me", "わたしの資格情報")],
    }
}

/// A page of a logged-in session: header with role and tenant, navigation,
/// logout.
pub fn layout(s: &Session, title: &str, body: Markup) -> Markup {
    let tenant = match &s.caller {
        Caller::Institution(c) => Some(format!(
            "{}（医療機関コード {c}）",
            s.tenant_name.as_deref().unwrap_or("")
        )),
        Caller::Insurer(n) => Some(format!(
            "{}（保険者番号 {n}）",
            s.tenant_name.as_deref().unwrap_or("")
        )),
        Caller::Patient(_) => None,
        _ => None,
    };
    html! {
        (DOCTYPE)
        html lang="ja" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " | onshi" }
                link rel="stylesheet" href="/ui/static/style.css";
            }
            body {
                header.top {
                    div.brand { "onshi" span.sub { "オンライン資格確認" } }
                    nav {
                        @for (href, label) in nav(&s.caller) {
                            a href=(href) { (label) }
                        }
                    }
                    div.who {
                        span.role { (role_label(&s.caller)) }
                        @if let Some(t) = &tenant { span.tenant { (t) } }
                        form.logout method="post" action="/ui/logout" {
                            (s.csrf_input())
                            button.link type="submit" { "ログアウト" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn today() -> NaiveDate {
    Local::now().date_naive()
}

/// A stored UTC timestamp as local date and time.
pub fn local_time(ts: &str) -> String {
    DateTime::parse_from_rfc3339(ts)
        .map(|d| {
            d.with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| ts.to_owned())
}

pub fn wareki(d: NaiveDate) -> String {
    onshi_core::WarekiDate::from_gregorian(d)
        .map(|w| w.to_string())
        .unwrap_or_else(|_| d.to_string())
}

pub fn ratio(p: u16) -> String {
    if p.is_multiple_of(10) {
        format!("{}割", p / 10)
    } else {
        format!("{p}%")
    }
}

pub fn sex(s: &str) -> &str {
    match s {
        "male" => "男",
        "female" => "女",
        o => o,
    }
}

pub fn relation(s: &str) -> &str {
    match s {
        "insured" => "本人",
        "dependent" => "家族",
        o => o,
    }
}

pub fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("—")
}

pub fn yen(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out}円")
}

/// The CSS class of an OQSCD006 validity.
pub fn validity_class(v: u8) -> &'static str {
    match v {
        1 => "valid",
        2 => "invalid",
        4 => "none",
        _ => "multi",
    }
}

/// One qualification as the 資格確認端末 shows it.
pub fn qualification_table(q: &QualificationView, lost_emphasis: bool) -> Markup {
    html! {
        table.qual {
            tr { th { "氏名" } td { (q.name) " （" (q.kana) "）" } }
            tr { th { "生年月日" } td { (q.birth_date_wareki) " （" (q.birth_date) "）" } }
            tr { th { "性別" } td { (sex(&q.sex)) } }
            tr { th { "住所" } td { (q.address) } }
            tr.numbers.emph[lost_emphasis] {
                th { "保険者番号" }
                td { span.num { (q.insurer_number) } " " (q.insurer_name) }
            }
            tr.numbers.emph[lost_emphasis] {
                th { "記号・番号・枝番" }
                td {
                    "記号 " span.num { (opt(&q.insured_symbol)) }
                    "　番号 " span.num { (q.insured_number) }
                    "　枝番 " span.num { (opt(&q.insured_branch)) }
                }
            }
            tr { th { "本人・家族" } td { (relation(&q.relation)) } }
            tr { th { "資格取得日" } td { (q.acquired_on) } }
            tr.emph[q.lost_on.is_some()] {
                th { "資格喪失日" }
                td { @if let Some(l) = q.lost_on { (l) } @else { "—" } }
            }
            tr {
                th { "負担割合" }
                td { @if let Some(p) = q.burden_ratio_percent { (ratio(p)) } @else { "—" } }
            }
            @if let Some(e) = &q.employer { tr { th { "事業所" } td { (e) } } }
        }
    }
}

/// The answer panel: validity, the qualification(s), the notes.
pub fn answer_panel(a: &CheckAnswer) -> Markup {
    let how = match a.reference.as_str() {
        "card" => "マイナ保険証",
        "numbers" => "記号・番号",
        "failure_mode" => "システム障害時モードの照会",
        _ => "",
    };
    html! {
        section.answer.(validity_class(a.validity)) {
            div.verdict {
                span.label { (a.validity_label) }
                span.meta { (how) "による照会　資格確認日 " (a.checked_on) }
                @if a.validity == 1 {
                    @if let Some(p) = a.burden_ratio_percent {
                        span.ratio { "負担割合 " strong { (ratio(p)) } }
                    }
                }
            }
            @if let Some(n) = &a.processing_note {
                p.note { (n.message) }
            }
            @match a.validity {
                2 => {
                    p.explain {
                        "この資格は喪失しています。新しい資格はまだ登録されていません。下の旧資格（喪失した資格）の保険者番号・記号・番号で請求できます（保発0710第1号 3(3)）。"
                    }
                }
                4 => {
                    p.explain { "登録されている資格情報がありません（保険者の登録待ちの可能性があります）。下の手順で窓口負担を決めてください。" }
                }
                5 => {
                    p.explain { "複数の方が該当しました。枝番を入力して照会し直してください。" }
                }
                _ => {}
            }
            @if let Some(q) = &a.qualification {
                (qualification_table(q, a.validity == 2))
            } @else {
                @for q in &a.qualifications {
                    (qualification_table(q, false))
                }
            }
            @if let Some(i) = &a.identity_confirmed_by {
                p.meta { "本人確認: " (match i.as_str() { "face" => "顔認証", "pin" => "暗証番号", "visual" => "目視確認", _ => "事後確認" }) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yen_has_separators() {
        assert_eq!(yen(0), "0円");
        assert_eq!(yen(3700), "3,700円");
        assert_eq!(yen(1234567), "1,234,567円");
    }

    #[test]
    fn errors_land_on_both_alternatives() {
        let e = FieldErrors::from_registry(&RegistryError::MissingOneOf("name", "kana"));
        assert!(
            e.get("name")
                .is_some_and(|m| m.contains("氏名またはカナ氏名"))
        );
        assert!(e.get("kana").is_some());
    }

    #[test]
    fn hostile_text_is_escaped() {
        let m = field(
            &FieldErrors::default(),
            "x",
            "<script>alert(1)</script>",
            html! {},
        );
        assert!(!m.into_string().contains("<script>"));
    }
}
