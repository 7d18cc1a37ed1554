//! A claim's life at the institution: its states, the transitions between
//! them, and the order of the facts its insurer fields may rest on.
//!
//! Sources: notice §3(1)–(4) (the order of the insurer fields), §4 and
//! 別添1 (what the payer decides: 振替, 特定, 按分, a 不詳 claim settled later),
//! §5(2) (the §3(4) handling from 令和5年9月請求). The state names follow the
//! words a 医事課 clerk uses: 作成中, 確定, 提出済, 支払済, 返戻, 振替済, 特定済,
//! 按分済, 保留, 取下げ, 再請求.
//!
//! ```text
//!   作成中 ──確定──▶ 確定 ──提出──▶ 提出済 ──審査支払の結果──▶ 支払済 / 振替済 / 特定済 / 按分済
//!     ▲ 作り直し        │ 訂正の承認        │                     ╲
//!     └──────┘        └─▶ 確定 (新版)     ├─取下げ─▶ 取下げ ─┐      ╲─▶ 返戻 ─再請求─▶ 再請求 ─確定─▶ 確定 …
//!                                        └─▶ 保留 (不詳の照会中・按分待ち) ─結果─▶ …
//! ```
//!
//! Every transition is a new version of the claim with who, when, why and
//! the rule ([`Transition::rule`]); nothing rewrites a version.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::claim::InsurerBasis;

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    /// 作成中: rebuilt from the visits while the month is open.
    Draft,
    /// 確定: frozen for submission.
    Confirmed,
    /// 提出済: sent to the payer with a recorded submission.
    Submitted,
    /// 支払済.
    Paid,
    /// 返戻: returned by the payer with a reason.
    Returned,
    /// 振替済: the payer billed another insurer (振替 or 分割).
    Transferred,
    /// 特定済: a 不詳 claim the payer identified to an insurer.
    Identified,
    /// 按分済: a 不詳 claim the payer shared out (notice §4).
    Apportioned,
    /// 保留: the payer holds it (照会中, or no payment record to weight 按分;
    /// 別添1 lets a 不詳 claim be settled later).
    Held,
    /// 取下げ: withdrawn by the institution after submission, to correct it.
    Withdrawn,
    /// 再請求: a new version after a 返戻 or 取下げ, editable until 確定.
    Resubmission,
}

impl ClaimState {
    pub const ALL: [ClaimState; 11] = [
        Self::Draft,
        Self::Confirmed,
        Self::Submitted,
        Self::Paid,
        Self::Returned,
        Self::Transferred,
        Self::Identified,
        Self::Apportioned,
        Self::Held,
        Self::Withdrawn,
        Self::Resubmission,
    ];

    /// The word on the desk's screen.
    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "作成中",
            Self::Confirmed => "確定",
            Self::Submitted => "提出済",
            Self::Paid => "支払済",
            Self::Returned => "返戻",
            Self::Transferred => "振替済",
            Self::Identified => "特定済",
            Self::Apportioned => "按分済",
            Self::Held => "保留",
            Self::Withdrawn => "取下げ",
            Self::Resubmission => "再請求",
        }
    }

    /// The stable code (the serde name).
    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Confirmed => "confirmed",
            Self::Submitted => "submitted",
            Self::Paid => "paid",
            Self::Returned => "returned",
            Self::Transferred => "transferred",
            Self::Identified => "identified",
            Self::Apportioned => "apportioned",
            Self::Held => "held",
            Self::Withdrawn => "withdrawn",
            Self::Resubmission => "resubmission",
        }
    }

    pub fn parse(s: &str) -> Option<ClaimState> {
        Self::ALL.into_iter().find(|st| st.code() == s)
    }

    /// Whether a new fact may rebuild the claim in place (作成中 and 再請求);
    /// every other state is frozen and a fact only proposes a correction.
    pub fn is_editable(self) -> bool {
        matches!(self, Self::Draft | Self::Resubmission)
    }

    /// Whether the claim has left the institution (a correction then needs
    /// 取下げ and 再請求).
    pub fn is_sent(self) -> bool {
        !matches!(
            self,
            Self::Draft | Self::Confirmed | Self::Withdrawn | Self::Resubmission
        )
    }
}

/// What the payer decided about a submitted claim, as the institution
/// receives it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayerDecision {
    Paid,
    Returned,
    Transferred,
    Identified,
    Apportioned,
    Held,
}

impl PayerDecision {
    pub fn state(self) -> ClaimState {
        match self {
            Self::Paid => ClaimState::Paid,
            Self::Returned => ClaimState::Returned,
            Self::Transferred => ClaimState::Transferred,
            Self::Identified => ClaimState::Identified,
            Self::Apportioned => ClaimState::Apportioned,
            Self::Held => ClaimState::Held,
        }
    }
}

/// What happens to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimEvent {
    /// The visits changed while the claim is editable.
    Rebuild,
    /// The clerk freezes it for submission.
    Confirm,
    /// The month's confirmed claims go to the payer.
    Submit,
    /// The payer's decision arrives.
    Decided(PayerDecision),
    /// The clerk accepts a proposed correction of a confirmed claim.
    AcceptCorrection,
    /// The clerk withdraws a submitted claim to correct it (取下げ).
    Withdraw,
    /// A new version after 返戻 or 取下げ (再請求).
    Reclaim,
}

/// A transition and the rule it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub from: ClaimState,
    pub to: ClaimState,
    pub rule: &'static str,
}

/// A transition the life of a claim does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}の請求に「{}」はできません", from.label(), event_label(*event))]
pub struct TransitionRefused {
    pub from: ClaimState,
    pub event: ClaimEvent,
}

fn event_label(e: ClaimEvent) -> &'static str {
    match e {
        ClaimEvent::Rebuild => "作り直し",
        ClaimEvent::Confirm => "確定",
        ClaimEvent::Submit => "提出",
        ClaimEvent::Decided(_) => "審査支払の結果の反映",
        ClaimEvent::AcceptCorrection => "訂正の承認",
        ClaimEvent::Withdraw => "取下げ",
        ClaimEvent::Reclaim => "再請求",
    }
}

/// The state a claim moves to, with the rule that allows it. Anything not
/// listed is refused: a frozen claim is never rebuilt, a draft is never
/// decided by a payer.
pub fn transition(from: ClaimState, event: ClaimEvent) -> Result<Transition, TransitionRefused> {
    use ClaimState as S;
    let (to, rule) = match (from, event) {
        (S::Draft | S::Resubmission, ClaimEvent::Rebuild) => (
            from,
            "作成中・再請求の請求は受診記録の変更に合わせて作り直す（保発0710第1号 3の順）",
        ),
        (S::Draft | S::Resubmission, ClaimEvent::Confirm) => {
            (S::Confirmed, "確定した請求は以後書き換えない")
        }
        (S::Confirmed, ClaimEvent::AcceptCorrection) => (
            S::Confirmed,
            "確定後に判明した事実は訂正案とし、承認されたときに新しい版とする",
        ),
        (S::Confirmed, ClaimEvent::Submit) => {
            (S::Submitted, "確定した請求を審査支払機関へ提出する")
        }
        (S::Submitted | S::Held, ClaimEvent::Decided(d)) => (
            d.state(),
            match d {
                PayerDecision::Paid => "審査支払機関の支払",
                PayerDecision::Returned => "審査支払機関の返戻",
                PayerDecision::Transferred => "レセプト振替・分割（保発0710第1号 3(3)※）",
                PayerDecision::Identified => "不詳レセプトの保険者の特定（保発0710第1号 4）",
                PayerDecision::Apportioned => "不詳レセプトの按分（保発0710第1号 4、別添1）",
                PayerDecision::Held => "不詳レセプトの保留（別添1: 他より遅れて精算）",
            },
        ),
        (
            S::Transferred | S::Identified | S::Apportioned,
            ClaimEvent::Decided(PayerDecision::Paid),
        ) => (S::Paid, "振替・特定・按分後の支払"),
        (S::Submitted | S::Held, ClaimEvent::Withdraw) => {
            (S::Withdrawn, "提出後の訂正は取下げと再請求で行う")
        }
        (S::Returned | S::Withdrawn, ClaimEvent::Reclaim) => (
            S::Resubmission,
            "返戻・取下げの後は新しい版で再請求する（旧版に紐づける）",
        ),
        _ => return Err(TransitionRefused { from, event }),
    };
    Ok(Transition { from, to, rule })
}

/// The kind of fact a claim's insurer fields rest on, in the notice's order
/// (higher outranks lower).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactRank {
    /// §3(4) 不詳: nothing known.
    Unknown,
    /// §3(3): the lost qualification of a 資格(無効) answer.
    Lost,
    /// §3(2): what the patient said (聞き取り) or an earlier visit's record
    /// confirmed orally as unchanged.
    Oral,
    /// §3(1)/(2): the registry confirmed it (card, numbers, the failure-mode
    /// pick, the deferred re-check).
    Registry,
    /// §3(1): a valid document the patient presented (資格確認書, 保険証,
    /// マイナポータルの資格情報画面).
    Presented,
}

impl FactRank {
    /// The notice's basis the rank writes on the claim.
    pub fn basis(self) -> InsurerBasis {
        match self {
            Self::Presented | Self::Registry => InsurerBasis::Confirmed,
            Self::Oral => InsurerBasis::ToldOrally,
            Self::Lost => InsurerBasis::LostQualification,
            Self::Unknown => InsurerBasis::Unknown,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Presented => "提示された資格確認書等（3(1)）",
            Self::Registry => "オンライン資格確認による確認（3(1)）",
            Self::Oral => "患者からの聞き取り・前回受診（3(2)）",
            Self::Lost => "喪失した資格（3(3)）",
            Self::Unknown => "不詳（3(4)）",
        }
    }
}

/// How a fact was learned (shown on the claim next to its rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactSource {
    /// A document the patient showed at the window.
    Shown,
    /// The card or number check when the visit opened.
    OnlineCheck,
    /// The deferred re-check (事後確認).
    Recheck,
    /// A pick in the system-failure mode.
    FailureMode,
    /// Numbers the clinic learned later by asking the patient (聞き取り,
    /// §3(2), ※ under §3(4) 「わかり次第」).
    Hearing,
    /// A returning patient's earlier visit, confirmed orally as unchanged.
    PreviousVisit,
}

impl FactSource {
    pub fn label(self) -> &'static str {
        match self {
            Self::Shown => "提示された資格情報",
            Self::OnlineCheck => "オンライン資格確認",
            Self::Recheck => "事後確認（再照会）",
            Self::FailureMode => "システム障害時モード",
            Self::Hearing => "後日の聞き取り",
            Self::PreviousVisit => "前回受診時の記録",
        }
    }
}

/// Whether a fact of rank `new` may replace what the claim rests on
/// (`current`): it may when it ranks at least as high (the notice's order is
/// never gone down; among equals the later fact is the more current one).
pub fn admits(current: Option<FactRank>, new: FactRank) -> bool {
    current.is_none_or(|c| new >= c)
}

/// 令和5年9月請求: the first billing month the §3(4) 不詳 handling applies
/// to (notice §5(2)); its 診療年月 is 2023-08.
pub const UNKNOWN_FIRST_SERVICE_MONTH: (i32, u32) = (2023, 8);

/// Whether a claim of this 診療年月 may be written as 不詳 (notice §5(2):
/// 「令和5年9月請求分から」; the billing month is the month after the service
/// month).
pub fn unknown_allowed_for(service_month: NaiveDate) -> bool {
    (service_month.year(), service_month.month()) >= UNKNOWN_FIRST_SERVICE_MONTH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_life_of_a_claim() {
        use ClaimState as S;
        let go = |s, e| transition(s, e).map(|t| t.to);
        assert_eq!(go(S::Draft, ClaimEvent::Rebuild), Ok(S::Draft));
        assert_eq!(go(S::Draft, ClaimEvent::Confirm), Ok(S::Confirmed));
        assert_eq!(go(S::Confirmed, ClaimEvent::Submit), Ok(S::Submitted));
        assert_eq!(
            go(S::Submitted, ClaimEvent::Decided(PayerDecision::Returned)),
            Ok(S::Returned)
        );
        assert_eq!(go(S::Returned, ClaimEvent::Reclaim), Ok(S::Resubmission));
        assert_eq!(go(S::Resubmission, ClaimEvent::Confirm), Ok(S::Confirmed));
        assert_eq!(go(S::Submitted, ClaimEvent::Withdraw), Ok(S::Withdrawn));
        assert_eq!(
            go(S::Held, ClaimEvent::Decided(PayerDecision::Apportioned)),
            Ok(S::Apportioned)
        );
        // Frozen states are never rebuilt; drafts are never decided.
        for s in S::ALL.into_iter().filter(|s| !s.is_editable()) {
            assert!(go(s, ClaimEvent::Rebuild).is_err(), "{s:?}");
        }
        assert!(go(S::Draft, ClaimEvent::Decided(PayerDecision::Paid)).is_err());
        assert!(go(S::Paid, ClaimEvent::Withdraw).is_err());
        assert!(go(S::Submitted, ClaimEvent::AcceptCorrection).is_err());
        let e = transition(S::Paid, ClaimEvent::Rebuild).unwrap_err();
        assert_eq!(e.to_string(), "支払済の請求に「作り直し」はできません");
        for s in S::ALL {
            assert_eq!(ClaimState::parse(s.code()), Some(s));
        }
    }

    #[test]
    fn the_order_of_facts() {
        use FactRank as R;
        assert!(R::Presented > R::Registry && R::Registry > R::Oral);
        assert!(R::Oral > R::Lost && R::Lost > R::Unknown);
        assert!(admits(None, R::Lost));
        assert!(admits(Some(R::Registry), R::Registry));
        assert!(
            !admits(Some(R::Presented), R::Lost),
            "a re-check never demotes a shown document"
        );
        assert!(!admits(Some(R::Registry), R::Oral));
        assert_eq!(R::Presented.basis(), InsurerBasis::Confirmed);
        assert_eq!(R::Lost.basis(), InsurerBasis::LostQualification);
    }

    #[test]
    fn unknown_from_reiwa5_september_billing() {
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        assert!(!unknown_allowed_for(d(2023, 7)));
        assert!(unknown_allowed_for(d(2023, 8)));
        assert!(unknown_allowed_for(d(2026, 11)));
    }
}
