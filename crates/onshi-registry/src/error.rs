//! The registry's typed errors, each with a stable code for the API.

use onshi_core::ParseError;
use onshi_store::StoreError;

/// Why a registry call was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Input that does not parse; nothing was written.
    #[error("{0}")]
    Invalid(#[from] ParseError),
    /// A field that must be present is missing.
    #[error("{0}: 入力してください")]
    Missing(&'static str),
    /// A field this kind of request does not take.
    #[error("{0}: この照会では指定できません")]
    NotAllowed(&'static str),
    #[error("{field}: {message}")]
    BadValue { field: String, message: String },
    #[error("この電子証明書は登録されていません")]
    CertificateUnknown,
    #[error(
        "電子証明書の有効期限が切れています（猶予期間は{grace_ended_on}まで）。資格確認書等で確認してください"
    )]
    CertificateExpired { grace_ended_on: chrono::NaiveDate },
    #[error("電子証明書は失効しています")]
    CertificateRevoked,
    #[error("医療機関コード{0}は登録されていません")]
    InstitutionUnknown(String),
    #[error("保険者番号{0}は登録されていません")]
    InsurerUnknown(String),
    #[error("個人の照会キー{0}に該当する住民記録がありません")]
    PersonUnknown(String),
    #[error("該当する資格情報がありません")]
    NotFound,
    #[error("同じ資格（個人・記号番号・資格取得日）が登録済みです（ID {0}）")]
    Duplicate(i64),
    #[error("insurer_number: 自保険者以外の保険者番号は登録・訂正できません")]
    OtherInsurer,
    #[error("Idempotency-Key ヘッダーを指定してください")]
    MissingIdempotencyKey,
    #[error("この Idempotency-Key は別の内容の要求で使用済みです")]
    IdempotencyKeyReused,
    #[error("照合が完了していない（基本4情報が一致しない）資格のため、お知らせを作成できません")]
    NotVisible,
    #[error("顔認証付きカードリーダーが使用できません（障害）")]
    ReaderUnavailable,
    #[error("オンライン資格確認等システムに接続できません（通信障害）")]
    NetworkUnreachable,
    #[error("オンライン資格確認等システムが応答しません（システム障害）")]
    RegistryUnavailable,
    #[error("目視確認モードではありません。カードリーダーを目視確認モードに切り替えてください")]
    VisualModeOff,
    #[error("カードリーダーは目視確認モードです。目視で本人確認を行ってください")]
    ReaderInVisualMode,
    #[error("{0}または{1}のどちらかを入力してください")]
    MissingOneOf(&'static str, &'static str),
    #[error("システム障害時モードが有効になっていません。コールセンターに利用を申請してください")]
    FailureModeNotActive,
    #[error("照会が多すぎます。しばらく待ってから再度照会してください")]
    RateLimited,
    #[error("検索結果の有効期限が切れました。もう一度検索してください")]
    SearchExpired,
    #[error("折り返しの電話番号が届出の番号（{0}）と一致しません")]
    CallbackMismatch(String),
    #[error("この申請は現在「{0}」のため、その操作はできません")]
    InvalidState(String),
    #[error("認証が必要です")]
    Unauthorized,
    #[error("この操作の権限がありません")]
    Forbidden,
    #[error("登録内容が既存のデータと衝突します: {0}")]
    Conflict(String),
    #[error("混み合っています。しばらく待ってから再度お試しください")]
    Busy,
    #[error("内部エラーが発生しました")]
    Store(StoreError),
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => RegistryError::Conflict(m),
            StoreError::Duplicate(id) => RegistryError::Duplicate(id),
            StoreError::Busy(_) => RegistryError::Busy,
            other => RegistryError::Store(other),
        }
    }
}

impl RegistryError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(e) => e.code(),
            Self::Missing(_) => "missing_field",
            Self::NotAllowed(_) => "field_not_allowed",
            Self::BadValue { .. } => "invalid_value",
            Self::CertificateUnknown => "certificate_unknown",
            Self::CertificateExpired { .. } => "certificate_expired",
            Self::CertificateRevoked => "certificate_revoked",
            Self::InstitutionUnknown(_) => "institution_unknown",
            Self::InsurerUnknown(_) => "insurer_unknown",
            Self::PersonUnknown(_) => "person_unknown",
            Self::NotFound => "not_found",
            Self::Duplicate(_) => "duplicate",
            Self::OtherInsurer => "other_insurer",
            Self::MissingIdempotencyKey => "missing_idempotency_key",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::NotVisible => "registration_not_visible",
            Self::ReaderUnavailable => "reader_unavailable",
            Self::NetworkUnreachable => "network_unreachable",
            Self::RegistryUnavailable => "registry_unavailable",
            Self::VisualModeOff => "visual_mode_off",
            Self::ReaderInVisualMode => "reader_in_visual_mode",
            Self::MissingOneOf(..) => "missing_field",
            Self::FailureModeNotActive => "failure_mode_not_active",
            Self::RateLimited => "rate_limited",
            Self::SearchExpired => "search_expired",
            Self::CallbackMismatch(_) => "callback_number_mismatch",
            Self::InvalidState(_) => "invalid_state",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Conflict(_) => "conflict",
            Self::Busy => "busy",
            Self::Store(_) => "internal",
        }
    }

    /// The input field the error is about, where there is one.
    pub fn field(&self) -> Option<String> {
        match self {
            Self::Invalid(e) => Some(e.field.to_owned()),
            Self::Missing(f) | Self::NotAllowed(f) => Some((*f).to_owned()),
            Self::BadValue { field, .. } => Some(field.clone()),
            Self::OtherInsurer => Some("insurer_number".into()),
            Self::MissingOneOf(a, b) => Some(format!("{a},{b}")),
            Self::PersonUnknown(_) => Some("person_ref".into()),
            _ => None,
        }
    }
}
