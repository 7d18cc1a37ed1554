//! The record layouts (医科), field by field, in the order of the 記録条件仕様.
//! Index 0 is always the レコード識別情報. The tag after each layout says how
//! well its order is established; the crate docs give the sources.

/// A record layout: its id, the names of its fields, and the fewest fields a
/// reader needs (older spec versions and other vendors may write fewer
/// trailing fields; more are tolerated).
pub struct Layout {
    pub id: &'static str,
    pub fields: &'static [&'static str],
    pub min_fields: usize,
}

impl Layout {
    pub fn name(&self, i: usize) -> &'static str {
        self.fields.get(i).copied().unwrap_or("予備")
    }
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }
}

/// 医療機関情報レコード [confirmed: myclinic-ts, smart-test, jp-medical-recept-reader].
pub const IR: Layout = Layout {
    id: "IR",
    fields: &[
        "レコード識別情報",
        "審査支払機関",
        "都道府県",
        "点数表",
        "医療機関コード",
        "予備",
        "医療機関名称",
        "請求年月",
        "マルチボリューム識別情報",
        "電話番号",
    ],
    min_fields: 9,
};
pub mod ir {
    pub const PAYER: usize = 1;
    pub const PREF: usize = 2;
    pub const TABLE: usize = 3;
    pub const CODE: usize = 4;
    pub const NAME: usize = 6;
    pub const MONTH: usize = 7;
    pub const VOLUME: usize = 8;
    pub const PHONE: usize = 9;
}

/// レセプト共通レコード, 38 fields [confirmed: smart-test writer and
/// jp-medical-recept-reader agree on all 38; myclinic-ts on the first 24].
pub const RE: Layout = Layout {
    id: "RE",
    fields: &[
        "レコード識別情報",
        "レセプト番号",
        "レセプト種別",
        "診療年月",
        "氏名",
        "男女区分",
        "生年月日",
        "給付割合",
        "入院年月日",
        "病棟区分",
        "一部負担金・食事療養費・生活療養費標準負担額区分",
        "レセプト特記事項",
        "病床数",
        "カルテ番号等",
        "割引点数単価",
        "予備",
        "予備",
        "予備",
        "検索番号",
        "記録条件仕様年月情報",
        "請求情報",
        "診療科1 診療科名",
        "診療科1 人体の部位等",
        "診療科1 性別等",
        "診療科1 医学的処置",
        "診療科1 特定疾病",
        "診療科2 診療科名",
        "診療科2 人体の部位等",
        "診療科2 性別等",
        "診療科2 医学的処置",
        "診療科2 特定疾病",
        "診療科3 診療科名",
        "診療科3 人体の部位等",
        "診療科3 性別等",
        "診療科3 医学的処置",
        "診療科3 特定疾病",
        "カタカナ（氏名）",
        "患者の状態",
    ],
    min_fields: 8,
};
pub mod re {
    pub const NUMBER: usize = 1;
    pub const KIND: usize = 2;
    pub const MONTH: usize = 3;
    pub const NAME: usize = 4;
    pub const SEX: usize = 5;
    pub const BIRTH: usize = 6;
    pub const BENEFIT: usize = 7;
    pub const TOKKI: usize = 11;
    pub const CHART: usize = 13;
    pub const KANA: usize = 36;
}

/// 保険者レコード, 15 fields [confirmed: myclinic-ts, smart-test,
/// jp-medical-recept-reader].
pub const HO: Layout = Layout {
    id: "HO",
    fields: &[
        "レコード識別情報",
        "保険者番号",
        "被保険者証（手帳）等の記号",
        "被保険者証（手帳）等の番号",
        "診療実日数",
        "合計点数",
        "予備",
        "食事療養・生活療養 回数",
        "食事療養・生活療養 合計金額",
        "職務上の事由",
        "証明書番号",
        "負担金額 医療保険",
        "負担金額 減免区分",
        "負担金額 減額割合",
        "負担金額 減額金額",
    ],
    min_fields: 6,
};
pub mod ho {
    pub const INSURER: usize = 1;
    pub const SYMBOL: usize = 2;
    pub const NUMBER: usize = 3;
    pub const DAYS: usize = 4;
    pub const POINTS: usize = 5;
    pub const PAID: usize = 11;
}

/// 資格確認レコード, 9 fields [confirmed: myclinic-ts, smart-test; DOMAIN §2.1].
pub const SN: Layout = Layout {
    id: "SN",
    fields: &[
        "レコード識別情報",
        "負担者種別",
        "確認区分",
        "保険者番号等（資格確認）",
        "被保険者証（手帳）等の記号（資格確認）",
        "被保険者証（手帳）等の番号（資格確認）",
        "枝番",
        "受給者番号",
        "予備",
    ],
    min_fields: 7,
};
pub mod sn {
    pub const BURDENER: usize = 1;
    pub const CHECK: usize = 2;
    pub const BRANCH: usize = 6;
}

const DAY_FIELDS: [&str; 31] = [
    "1日の情報",
    "2日の情報",
    "3日の情報",
    "4日の情報",
    "5日の情報",
    "6日の情報",
    "7日の情報",
    "8日の情報",
    "9日の情報",
    "10日の情報",
    "11日の情報",
    "12日の情報",
    "13日の情報",
    "14日の情報",
    "15日の情報",
    "16日の情報",
    "17日の情報",
    "18日の情報",
    "19日の情報",
    "20日の情報",
    "21日の情報",
    "22日の情報",
    "23日の情報",
    "24日の情報",
    "25日の情報",
    "26日の情報",
    "27日の情報",
    "28日の情報",
    "29日の情報",
    "30日の情報",
    "31日の情報",
];

const fn with_days(head: [&'static str; 2]) -> [&'static str; 33] {
    let mut out = [""; 33];
    out[0] = head[0];
    out[1] = head[1];
    let mut i = 0;
    while i < 31 {
        out[i + 2] = DAY_FIELDS[i];
        i += 1;
    }
    out
}

const JD_FIELDS: [&str; 33] = with_days(["レコード識別情報", "負担者種別"]);
const MF_FIELDS: [&str; 33] = {
    let mut f = with_days(["レコード識別情報", "窓口負担額区分"]);
    let mut i = 2;
    while i < 33 {
        f[i] = "予備";
        i += 1;
    }
    f
};

/// 受診日等レコード: 負担者種別, then 31 day marks (1 = 受診 counted in 実日数,
/// 2 = 受診 not counted, empty = none) [inferred: smart-test writer; field
/// count also in a 記録条件仕様-based schema for 歯科].
pub const JD: Layout = Layout {
    id: "JD",
    fields: &JD_FIELDS,
    min_fields: 33,
};
pub mod jd {
    pub const BURDENER: usize = 1;
    pub const FIRST_DAY: usize = 2;
}

/// 窓口負担額レコード: 窓口負担額区分 (00 高額療養費の現物給付なし, 01 あり,
/// 02 あり・多数回該当), then 31 予備 [inferred: smart-test writer; field count
/// also in a 記録条件仕様-based schema for 歯科].
pub const MF: Layout = Layout {
    id: "MF",
    fields: &MF_FIELDS,
    min_fields: 2,
};
pub mod mf {
    pub const KIND: usize = 1;
}

/// 傷病名レコード, 8 fields [confirmed: myclinic-ts, jp-medical-recept-reader].
pub const SY: Layout = Layout {
    id: "SY",
    fields: &[
        "レコード識別情報",
        "傷病名コード",
        "診療開始日",
        "転帰区分",
        "修飾語コード",
        "傷病名称",
        "主傷病",
        "補足コメント",
    ],
    min_fields: 6,
};
pub mod sy {
    pub const CODE: usize = 1;
    pub const START: usize = 2;
    pub const OUTCOME: usize = 3;
    pub const NAME: usize = 5;
}

/// コメントレコード, 5 fields [confirmed: myclinic-ts, smart-test,
/// jp-medical-recept-reader].
pub const CO: Layout = Layout {
    id: "CO",
    fields: &[
        "レコード識別情報",
        "診療識別",
        "負担区分",
        "コメントコード",
        "文字データ",
    ],
    min_fields: 5,
};
pub mod co {
    pub const TREATMENT: usize = 1;
    pub const CODE: usize = 3;
    pub const TEXT: usize = 4;
}

/// 診療報酬請求書レコード, 4 fields [confirmed: myclinic-ts; the 支払基金
/// 作成手引き example `GO,146,133000,99` as quoted in a 歯科 project's tests].
pub const GO: Layout = Layout {
    id: "GO",
    fields: &[
        "レコード識別情報",
        "総件数",
        "総合計点数",
        "マルチボリューム識別情報",
    ],
    min_fields: 4,
};
pub mod go {
    pub const COUNT: usize = 1;
    pub const POINTS: usize = 2;
    pub const VOLUME: usize = 3;
}

/// 公費レコード, 12 fields [confirmed: the 記録条件仕様 as transcribed by
/// kuenishi/meddatum (`rezept_med.hrl`), myclinic-ts `kouhi-record`, and the
/// real sample's 71 KO records, all with 12 fields]. onshi reads it as facts
/// (負担者番号, 受給者番号, 実日数, 点数, 負担金額) and never writes one.
pub const KO: Layout = Layout {
    id: "KO",
    fields: &[
        "レコード識別情報",
        "負担者番号",
        "受給者番号",
        "任意給付区分",
        "診療実日数",
        "合計点数",
        "負担金額 公費",
        "公費給付対象 外来一部負担金",
        "公費給付対象 入院一部負担金",
        "予備",
        "食事療養・生活療養 回数",
        "食事療養・生活療養 合計金額",
    ],
    min_fields: 6,
};
pub mod ko {
    pub const BURDENER: usize = 1;
    pub const RECIPIENT: usize = 2;
    pub const DAYS: usize = 4;
    pub const POINTS: usize = 5;
    pub const PAID: usize = 6;
}

/// 診療行為 (SI) and 医薬品 (IY) records, 44 fields: 診療識別, 負担区分, code,
/// 数量/使用量, 点数, 回数, three コメント pairs, then 1日の情報 … 31日の情報,
/// each the 回数 on that day [confirmed: the 記録条件仕様 as transcribed by
/// meddatum, and the real sample's 320 SI and 32 IY, all with 44 fields].
/// onshi keeps these records as they are and reads only the day fields, for
/// the visit dates of a receipt without JD.
pub mod line_item {
    /// Record ids whose day fields give visit dates (TO has them later in
    /// the record and is not read \[D\]).
    pub const IDS: &[&str] = &["SI", "IY"];
    /// 診療識別.
    pub const TREATMENT: usize = 1;
    /// Index of 1日の情報.
    pub const FIRST_DAY: usize = 13;
    /// Fields up to and including 31日の情報.
    pub const FIELDS: usize = 44;
    /// The name of day `d` (1–31).
    pub fn day_name(d: usize) -> &'static str {
        super::DAY_FIELDS
            .get(d.wrapping_sub(1))
            .copied()
            .unwrap_or("日の情報")
    }
}

/// Records of a receipt that onshi reads facts from (the rest of a receipt,
/// SI IY TO SJ GR KH and any other id, is kept as it is).
pub const RECEIPT_RECORDS: &[&str] = &["HO", "KO", "SN", "JD", "MF", "SY", "CO"];

/// Records that tie a following CO to a line item.
pub const LINE_ITEMS: &[&str] = &["SI", "IY", "TO"];

/// A well-formed record id: two capital ASCII letters. Any such record is
/// kept; anything else (an empty line, a cut record, digits) is refused as
/// `unknown_record`.
pub fn is_record_id(id: &str) -> bool {
    id.len() == 2 && id.bytes().all(|b| b.is_ascii_uppercase())
}

/// Codes written by onshi (the crate docs say which are inferred).
pub mod codes {
    /// 未コード化傷病名.
    pub const UNCODED_DIAGNOSIS: &str = "0000999";
    /// フリーコメント.
    pub const FREE_COMMENT: &str = "810000001";
    /// 診療識別 for a comment on the whole claim.
    pub const WHOLE_CLAIM: &str = "99";
    /// 負担区分 医療保険単独.
    pub const BURDEN_INSURANCE: &str = "1";
    /// 負担者種別 医療保険.
    pub const BURDENER_INSURANCE: &str = "1";
    /// 確認区分 保険医療機関・薬局窓口等.
    pub const CHECKED_AT_WINDOW: &str = "01";
    /// 転帰区分 治ゆ・死亡・中止以外 (継続).
    pub const OUTCOME_CONTINUING: &str = "1";
    /// 窓口負担額区分 高額療養費の現物給付なし.
    pub const NO_HIGH_COST: &str = "00";
    /// マルチボリューム識別情報: IR of a single volume, GO of the last volume.
    pub const VOLUME_FIRST: &str = "00";
    pub const VOLUME_LAST: &str = "99";
    /// 点数表 医科.
    pub const TABLE_MEDICAL: &str = "1";
}
