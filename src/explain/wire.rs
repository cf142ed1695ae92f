//! Record types and RCODEs as the trace carries them: thin newtypes over hickory's types
//! whose JSON is the mnemonic operators and dig write ("AAAA", "NXDOMAIN"), so the trace
//! reads as DNS and round-trips through serde.
//!
//! RFCs: 6895 §2.3 (RCODE mnemonics), 3597 §5 (`TYPEnnn` for types without a mnemonic).
//!
//! Limitations: RCODE 16 is always written BADVERS (whydns meets it only in an OPT context).

use std::fmt;
use std::str::FromStr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// The RCODE mnemonic as operators and dig write it (RFC 6895 §2.3).
pub fn rcode_name(rcode: ResponseCode) -> String {
    match rcode {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::YXDomain => "YXDOMAIN".into(),
        ResponseCode::YXRRSet => "YXRRSET".into(),
        ResponseCode::NXRRSet => "NXRRSET".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::NotZone => "NOTZONE".into(),
        // 16 is BADVERS in an OPT context, which is the only one whydns meets.
        ResponseCode::BADVERS | ResponseCode::BADSIG => "BADVERS".into(),
        ResponseCode::BADCOOKIE => "BADCOOKIE".into(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

/// The inverse of [`rcode_name`].
fn parse_rcode(text: &str) -> Option<ResponseCode> {
    let known = [
        ResponseCode::NoError,
        ResponseCode::FormErr,
        ResponseCode::ServFail,
        ResponseCode::NXDomain,
        ResponseCode::NotImp,
        ResponseCode::Refused,
        ResponseCode::YXDomain,
        ResponseCode::YXRRSet,
        ResponseCode::NXRRSet,
        ResponseCode::NotAuth,
        ResponseCode::NotZone,
        ResponseCode::BADVERS,
        ResponseCode::BADCOOKIE,
    ];
    if let Some(code) = known.into_iter().find(|c| rcode_name(*c) == text) {
        return Some(code);
    }
    let number: u16 = text.strip_prefix("RCODE")?.parse().ok()?;
    Some(<ResponseCode as From<u16>>::from(number))
}

/// A response code; its JSON is the mnemonic ("NOERROR").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rcode(pub ResponseCode);

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&rcode_name(self.0))
    }
}

impl From<ResponseCode> for Rcode {
    fn from(code: ResponseCode) -> Rcode {
        Rcode(code)
    }
}

impl PartialEq<str> for Rcode {
    fn eq(&self, other: &str) -> bool {
        rcode_name(self.0) == other
    }
}

impl Serialize for Rcode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rcode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Rcode, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_rcode(&text)
            .map(Rcode)
            .ok_or_else(|| de::Error::custom(format!("not an RCODE: {text}")))
    }
}

/// A record type; its JSON is the mnemonic ("AAAA"), or `TYPEnnn` without one (RFC 3597).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rtype(pub RecordType);

impl fmt::Display for Rtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            RecordType::Unknown(code) => write!(f, "TYPE{code}"),
            known => write!(f, "{known}"),
        }
    }
}

impl From<RecordType> for Rtype {
    fn from(rtype: RecordType) -> Rtype {
        Rtype(rtype)
    }
}

impl PartialEq<str> for Rtype {
    fn eq(&self, other: &str) -> bool {
        other.parse::<Rtype>().is_ok_and(|rtype| rtype == *self)
    }
}

impl FromStr for Rtype {
    type Err = String;

    fn from_str(text: &str) -> Result<Rtype, String> {
        if let Some(number) = text
            .strip_prefix("TYPE")
            .and_then(|n| n.parse::<u16>().ok())
        {
            return Ok(Rtype(RecordType::from(number)));
        }
        RecordType::from_str(text)
            .map(Rtype)
            .map_err(|_| format!("not a record type: {text}"))
    }
}

impl Serialize for Rtype {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rtype {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Rtype, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics_round_trip_through_json() {
        for code in [0u16, 1, 2, 3, 4, 5, 16, 17, 23] {
            let rcode = Rcode(<ResponseCode as From<u16>>::from(code));
            let json = serde_json::to_string(&rcode).unwrap();
            let back: Rcode = serde_json::from_str(&json).unwrap();
            assert_eq!(u16::from(back.0), code, "{json}");
        }
        assert_eq!(
            serde_json::to_string(&Rcode(ResponseCode::NXDomain)).unwrap(),
            "\"NXDOMAIN\""
        );
        for rtype in [
            RecordType::A,
            RecordType::AAAA,
            RecordType::DS,
            RecordType::Unknown(65280),
        ] {
            let json = serde_json::to_string(&Rtype(rtype)).unwrap();
            let back: Rtype = serde_json::from_str(&json).unwrap();
            assert_eq!(back.0, rtype, "{json}");
        }
        assert_eq!(
            serde_json::to_string(&Rtype(RecordType::DNSKEY)).unwrap(),
            "\"DNSKEY\""
        );
        assert_eq!(Rtype(RecordType::Unknown(65280)).to_string(), "TYPE65280");
    }
}
