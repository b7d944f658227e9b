//! Bank codes. vbank speaks KFTC 3-digit codes on i'mport's wire; each PG has its own
//! code system, and connectors translate with the tables here (`spec/banks.md`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A KFTC (금융결제원) 3-digit bank code that vbank knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct BankCode(&'static Bank);

/// One row of the bank table.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Bank {
    pub kftc: &'static str,
    pub name_ko: &'static str,
    pub name_en: &'static str,
    /// Toss Payments' 2-digit code: the KFTC last two digits, except KB = "06".
    pub toss: Option<&'static str>,
    /// KG INICIS' 2-digit code: the KFTC last two digits, where INICIS lists the bank.
    pub inicis: Option<&'static str>,
    /// NHN KCP's code: `BK` + 2 digits, where KCP lists the bank.
    pub kcp: Option<&'static str>,
}

macro_rules! banks {
    ($( $kftc:literal, $ko:literal, $en:literal, $toss:expr, $inicis:expr, $kcp:expr; )*) => {
        /// Every bank of `spec/banks.md` that has a confirmed KFTC code.
        pub static BANKS: &[Bank] = &[
            $( Bank { kftc: $kftc, name_ko: $ko, name_en: $en, toss: $toss, inicis: $inicis, kcp: $kcp }, )*
        ];
    };
}

banks! {
    "001", "한국은행", "Bank of Korea", None, None, None;
    "002", "KDB산업은행", "Korea Development Bank", Some("02"), Some("02"), Some("BK02");
    "003", "IBK기업은행", "Industrial Bank of Korea", Some("03"), Some("03"), Some("BK03");
    "004", "KB국민은행", "KB Kookmin Bank", Some("06"), Some("04"), Some("BK04");
    "007", "Sh수협은행", "Suhyup Bank", Some("07"), Some("07"), Some("BK07");
    "008", "한국수출입은행", "Export-Import Bank of Korea", None, None, None;
    "011", "NH농협은행", "NongHyup Bank", Some("11"), Some("11"), Some("BK11");
    "012", "지역농·축협", "Local Nonghyup/Chukhyup", Some("12"), Some("12"), Some("BK12");
    "020", "우리은행", "Woori Bank", Some("20"), Some("20"), Some("BK20");
    "023", "SC제일은행", "Standard Chartered Bank Korea", Some("23"), Some("23"), Some("BK23");
    "027", "한국씨티은행", "Citibank Korea", Some("27"), Some("27"), Some("BK27");
    "031", "iM뱅크", "iM Bank", Some("31"), Some("31"), Some("BK31");
    "032", "부산은행", "Busan Bank", Some("32"), Some("32"), Some("BK32");
    "034", "광주은행", "Kwangju Bank", Some("34"), Some("34"), Some("BK34");
    "035", "제주은행", "Jeju Bank", Some("35"), None, None;
    "037", "전북은행", "Jeonbuk Bank", Some("37"), Some("37"), Some("BK37");
    "039", "경남은행", "Kyongnam Bank", Some("39"), Some("39"), Some("BK39");
    "045", "새마을금고", "MG Community Credit Cooperatives", Some("45"), Some("45"), Some("BK45");
    "048", "신협", "Shinhyup", Some("48"), Some("48"), Some("BK48");
    "050", "저축은행", "Savings banks", Some("50"), None, None;
    "054", "HSBC은행", "HSBC", Some("54"), None, None;
    "064", "산림조합중앙회", "National Forestry Cooperative Federation", Some("64"), None, None;
    "071", "우체국", "Korea Post", Some("71"), Some("71"), Some("BK71");
    "081", "하나은행", "Hana Bank", Some("81"), Some("81"), Some("BK81");
    "088", "신한은행", "Shinhan Bank", Some("88"), Some("88"), Some("BK88");
    "089", "케이뱅크", "K Bank", Some("89"), Some("89"), Some("BK89");
    "090", "카카오뱅크", "Kakao Bank", Some("90"), Some("90"), Some("BK90");
    "092", "토스뱅크", "Toss Bank", Some("92"), Some("92"), Some("BK92");
}

impl BankCode {
    /// Looks up a KFTC code such as `"004"`.
    pub fn from_kftc(code: &str) -> Option<BankCode> {
        BANKS.iter().find(|bank| bank.kftc == code).map(BankCode)
    }

    pub fn from_toss(code: &str) -> Option<BankCode> {
        BANKS.iter().find(|bank| bank.toss == Some(code)).map(BankCode)
    }

    pub fn from_inicis(code: &str) -> Option<BankCode> {
        BANKS.iter().find(|bank| bank.inicis == Some(code)).map(BankCode)
    }

    pub fn kftc(self) -> &'static str {
        self.0.kftc
    }

    pub fn bank(self) -> &'static Bank {
        self.0
    }

    pub fn name_ko(self) -> &'static str {
        self.0.name_ko
    }
}

impl fmt::Display for BankCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.kftc)
    }
}

impl From<BankCode> for String {
    fn from(code: BankCode) -> String {
        code.kftc().to_owned()
    }
}

impl TryFrom<String> for BankCode {
    type Error = String;
    fn try_from(code: String) -> Result<BankCode, String> {
        BankCode::from_kftc(&code).ok_or_else(|| format!("unknown KFTC bank code {code}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kookmin_is_06_at_toss_and_04_at_inicis() {
        let kb = BankCode::from_kftc("004").unwrap();
        assert_eq!(kb.bank().toss, Some("06"));
        assert_eq!(kb.bank().inicis, Some("04"));
        assert_eq!(kb.bank().kcp, Some("BK04"));
        assert_eq!(BankCode::from_toss("06"), Some(kb));
        assert_eq!(BankCode::from_toss("04"), None);
    }

    #[test]
    fn other_banks_use_the_last_two_digits_where_listed() {
        for bank in BANKS {
            let last_two = &bank.kftc[1..];
            if bank.kftc != "004" {
                if let Some(toss) = bank.toss {
                    assert_eq!(toss, last_two, "{}", bank.kftc);
                }
            }
            if let Some(inicis) = bank.inicis {
                assert_eq!(inicis, last_two, "{}", bank.kftc);
            }
        }
    }

    #[test]
    fn unknown_codes_are_refused() {
        assert_eq!(BankCode::from_kftc("999"), None);
        assert_eq!(BankCode::from_kftc("4"), None);
    }
}
