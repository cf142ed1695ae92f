//! What the server says to a client, without any I/O: screening a query (RFC 1035 §4.1.1,
//! RFC 6891 §6.1.3, RFC 8914 §3), building the answer from a [`Resolution`], and fitting it
//! into the client's UDP buffer (RFC 1035 §4.2.1, RFC 6891 §6.2.5, RFC 2181 §9).
//!
//! Shrinking order when an answer does not fit: EDE EXTRA-TEXT, then the EDE options, then
//! the additional section, then TC=1 with empty sections so the client retries over TCP.
//!
//! Every answer to a client outside `allow` is at most as large as its query, so the server
//! cannot be used to amplify a forged-source flood: REFUSED carries EDE 18 without
//! EXTRA-TEXT, and not even that when the code would make the answer larger than the query.
//!
//! Limitations: class IN only (CHAOS is refused, bar `explain.whydns.` CH TXT).

use std::net::IpAddr;
use std::ops::ControlFlow;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{DNSClass, Name, RecordType};
use ipnet::IpNet;

use crate::explain::ede::{self, Refusal, EDE_OPTION};
use crate::explain::outcome::{Finished, Resolution};
use crate::explain::Ede;

/// The payload size whydns advertises and the most it sends over UDP (RFC 9715, DNS flag
/// day 2020): larger answers would risk IP fragmentation, so they go over TCP instead.
pub const ADVERTISED_PAYLOAD: u16 = 1232;

/// The classic UDP limit for a client without EDNS (RFC 1035 §2.3.4).
const CLASSIC_UDP: usize = 512;

/// The transport an answer leaves on, which decides how large it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// What to do with one incoming message.
#[derive(Debug)]
pub enum Screened {
    /// Send nothing: too short to have a header, or a response (never answer those, or two
    /// servers could bounce messages at each other forever).
    Drop,
    /// Answer at once, without resolving.
    Reply(Reply),
    /// A well-formed recursive question from an allowed client.
    Resolve(Request),
    /// `CH TXT ….explain.whydns.` from an allowed client: answered from the explanation log.
    Explain(Request, Reply),
}

/// An accepted question and the parts of the query the answer must echo.
#[derive(Debug, Clone)]
pub struct Request {
    pub query: Message,
    pub name: Name,
    pub rtype: RecordType,
    /// Who asked (kept in the explanation log).
    pub client: std::net::IpAddr,
}

/// A response under construction. EDE options are kept apart from the message so that
/// [`Reply::encode`] can shrink them before anything else.
#[derive(Debug, Clone)]
pub struct Reply {
    pub message: Message,
    ede: Vec<Ede>,
    /// The client's UDP buffer: 512 without EDNS, else its payload (at least 512), capped at
    /// the size whydns advertises.
    udp_limit: usize,
    /// For a client outside `allow`: the query's size, which the answer may not exceed on
    /// any transport.
    size_cap: Option<usize>,
}

/// Decides how to treat `packet` from `client`: the checks a recursive server makes before
/// doing any work, in the order that gives the client the most useful error.
pub fn screen(packet: &[u8], client: IpAddr, allow: &[IpNet]) -> Screened {
    let allowed = is_allowed(client, allow);
    match screen_query(packet, client, allowed) {
        // An outsider's answer is never larger than its query (no amplification).
        Screened::Reply(mut reply) if !allowed => {
            reply.size_cap = Some(packet.len());
            Screened::Reply(reply)
        }
        screened => screened,
    }
}

fn screen_query(packet: &[u8], client: IpAddr, allowed: bool) -> Screened {
    match screen_message(packet) {
        ControlFlow::Continue((query, reply)) => screen_question(query, reply, client, allowed),
        ControlFlow::Break(screened) => screened,
    }
}

/// The message-level checks: a query, parsed, opcode QUERY, one question, EDNS version 0.
/// `Break` is what to do instead of looking at the question.
fn screen_message(packet: &[u8]) -> ControlFlow<Screened, (Message, Reply)> {
    // RFC 1035 §4.1.1: QR is the top bit of the third octet.
    if packet.len() < 12 || packet[2] & 0x80 != 0 {
        return ControlFlow::Break(Screened::Drop);
    }
    let query = match Message::from_vec(packet) {
        Ok(query) => query,
        Err(_) => return ControlFlow::Break(Screened::Reply(format_error(packet))),
    };
    if query.metadata.message_type != MessageType::Query {
        return ControlFlow::Break(Screened::Drop);
    }
    let mut reply = Reply::to(&query);
    if query.metadata.op_code != OpCode::Query {
        // One question is echoed (RFC 1035 §4.1.1); several, which no opcode whydns knows
        // takes, are not: seventeen of them would not fit a 512-byte answer.
        if query.queries.len() > 1 {
            reply.message.queries.clear();
        }
        return ControlFlow::Break(Screened::Reply(reply.with_rcode(ResponseCode::NotImp)));
    }
    if query.queries.len() != 1 {
        // Echoing zero or several questions helps nobody: FORMERR with an empty question.
        reply.message.queries.clear();
        return ControlFlow::Break(Screened::Reply(reply.with_rcode(ResponseCode::FormErr)));
    }
    // RFC 6891 §6.1.3: "If a responder does not implement the VERSION level of the request,
    // then it MUST respond with RCODE=BADVERS." The reply's OPT carries version 0.
    if query.edns.as_ref().is_some_and(|e| e.version() > 0) {
        return ControlFlow::Break(Screened::Reply(reply.with_rcode(ResponseCode::BADVERS)));
    }
    ControlFlow::Continue((query, reply))
}

/// Who may ask what: the ACL, `explain.whydns.`, RD and the class and type asked.
fn screen_question(query: Message, mut reply: Reply, client: IpAddr, allowed: bool) -> Screened {
    if !allowed {
        // RA=0: recursion is not available to this client. No EXTRA-TEXT: the code says it
        // all, and the answer must stay no larger than the query (see `screen`).
        reply.message.metadata.recursion_available = false;
        reply.add_ede(ede::refusal(Refusal::NotAllowed));
        return Screened::Reply(reply.with_rcode(ResponseCode::Refused));
    }
    let question = &query.queries[0];
    // explain.whydns. (class CH) is whydns's own data: answered with or without RD.
    if question.query_class() == DNSClass::CH
        && question.query_type() == RecordType::TXT
        && super::explain_dns::suffix().zone_of(&question.name().to_lowercase())
    {
        let request = Request {
            name: question.name().clone(),
            rtype: question.query_type(),
            query: query.clone(),
            client,
        };
        return Screened::Explain(request, reply);
    }
    if !query.metadata.recursion_desired {
        // Beyond explain.whydns., whydns is authoritative for nothing: without RD there is
        // nothing it can answer.
        reply.add_ede(ede::refusal(Refusal::RecursionNotDesired));
        return Screened::Reply(reply.with_rcode(ResponseCode::Refused));
    }
    if question.query_class() != DNSClass::IN
        || matches!(question.query_type(), RecordType::AXFR | RecordType::IXFR)
    {
        return Screened::Reply(reply.with_rcode(ResponseCode::Refused));
    }
    Screened::Resolve(Request {
        name: question.name().clone(),
        rtype: question.query_type(),
        query,
        client,
    })
}

/// Whether `client` may use the resolver. IPv4-mapped IPv6 sources (a dual-stack `[::]`
/// listener) are compared as the IPv4 address they carry.
pub fn is_allowed(client: IpAddr, allow: &[IpNet]) -> bool {
    let client = client.to_canonical();
    allow.iter().any(|net| net.contains(&client))
}

/// The answer to `request`: question and id echoed, RA=1, AA=0, RD and CD copied, the
/// RCODE and records of the resolution, and its EDE options if the client sent OPT.
/// `finished` is `resolution.finish()`, computed once by the caller.
pub fn answer(request: &Request, resolution: &Resolution, finished: &Finished) -> Reply {
    let mut reply = Reply::to(&request.query);
    let rcode = finished.rcode;
    reply.message.metadata.response_code = rcode;
    // RFC 4035 §3.2.1: without DO, DNSSEC records are left out unless explicitly asked for.
    let dnssec_ok = request
        .query
        .edns
        .as_ref()
        .is_some_and(|e| e.flags().dnssec_ok);
    if rcode != ResponseCode::ServFail {
        reply.message.answers = resolution.answers.clone();
        reply.message.authorities = resolution.authority.clone();
        if dnssec_ok {
            reply
                .message
                .answers
                .extend(resolution.dnssec_answers.iter().cloned());
            reply
                .message
                .authorities
                .extend(resolution.dnssec_authority.iter().cloned());
        }
        reply.message = reply.message.maybe_strip_dnssec_records(dnssec_ok);
        // RFC 6840 §5.7-5.8: AD only for authenticated data, and only to a client that
        // signalled it understands it (DO or AD in the query).
        reply.message.metadata.authentic_data =
            finished.authenticated && (dnssec_ok || request.query.metadata.authentic_data);
    }
    for ede in finished.ede.iter().cloned() {
        reply.add_ede(ede);
    }
    reply
}

/// SERVFAIL for a query turned away because too many are being resolved already.
pub fn overloaded(request: &Request, limit: usize) -> Reply {
    let mut reply = Reply::to(&request.query);
    reply.add_ede(ede::refusal(Refusal::Overloaded { in_flight: limit }));
    reply.with_rcode(ResponseCode::ServFail)
}

/// RFC 1035 §4.1.1: a query that does not parse gets FORMERR when it at least has a header.
fn format_error(packet: &[u8]) -> Reply {
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let mut message = Message::response(id, OpCode::Query);
    message.metadata.recursion_desired = packet[2] & 0x01 != 0;
    message.metadata.recursion_available = true;
    message.metadata.response_code = ResponseCode::FormErr;
    Reply {
        message,
        ede: Vec::new(),
        udp_limit: CLASSIC_UDP,
        size_cap: None,
    }
}

impl Reply {
    /// The skeleton of every response to `query`: id, opcode and question echoed, RD and CD
    /// copied, RA=1, AA=0; an OPT (payload 1232, DO echoed) when the query had one (RFC 6891
    /// §7: a responder that understands EDNS answers an OPT with an OPT).
    fn to(query: &Message) -> Reply {
        let mut message = Message::response(query.metadata.id, query.metadata.op_code);
        message.metadata.recursion_desired = query.metadata.recursion_desired;
        message.metadata.checking_disabled = query.metadata.checking_disabled;
        message.metadata.recursion_available = true;
        message.metadata.authoritative = false;
        message.add_queries(query.queries.iter().cloned());
        let udp_limit = match &query.edns {
            Some(edns) => {
                let mut reply_edns = Edns::new();
                reply_edns.set_max_payload(ADVERTISED_PAYLOAD);
                reply_edns.set_dnssec_ok(edns.flags().dnssec_ok);
                message.set_edns(reply_edns);
                (edns.max_payload() as usize).clamp(CLASSIC_UDP, ADVERTISED_PAYLOAD as usize)
            }
            None => CLASSIC_UDP,
        };
        Reply {
            message,
            ede: Vec::new(),
            udp_limit,
            size_cap: None,
        }
    }

    fn with_rcode(mut self, rcode: ResponseCode) -> Reply {
        self.message.metadata.response_code = rcode;
        self
    }

    /// Adds an EDE option, only if the query had OPT: RFC 8914 §3, "the Extended DNS Error
    /// option ... MUST NOT be included in responses to queries that did not have an OPT".
    pub fn add_ede(&mut self, ede: Ede) {
        if self.message.edns.is_some() {
            self.ede.push(ede);
        }
    }

    /// The EDE options this reply carries (before any shrinking).
    pub fn ede(&self) -> &[Ede] {
        &self.ede
    }

    /// The wire form, shrunk to fit the transport. None only if the message cannot be
    /// encoded at all (which would be a bug; the caller sends nothing).
    pub fn encode(&self, transport: Transport) -> Option<Vec<u8>> {
        let limit = match transport {
            Transport::Udp => self.udp_limit,
            Transport::Tcp => u16::MAX as usize,
        }
        .min(self.size_cap.unwrap_or(usize::MAX));
        // Within the limit, and whole: past 65,535 octets hickory's encoder stops at the last
        // record that fits and sets TC itself, which would pass a partial RRset for an answer.
        let fitting = |message: &Message| {
            message.to_vec().ok().filter(|wire| {
                let truncated = wire.get(2).is_some_and(|flags| flags & 0x02 != 0);
                wire.len() <= limit && truncated == message.metadata.truncation
            })
        };
        let mut message = self.message.clone();
        for with_text in [true, false] {
            if let Some(wire) = fitting(&with_ede(&message, &self.ede, with_text)) {
                return Some(wire);
            }
        }
        // RFC 2181 §9: drop what the client can do without before setting TC.
        if !message.additionals.is_empty() {
            message.additionals.clear();
            if let Some(wire) = fitting(&message) {
                return Some(wire);
            }
        }
        if transport == Transport::Tcp && self.size_cap.is_none() {
            // Over TCP there is nothing to retry on: a partial or truncated answer would be
            // taken for the whole one (RFC 7766 §8). The answer exceeds what a DNS message
            // can carry (RFC 1035 §4.2.2), so it is not sent at all.
            return self.too_large();
        }
        message.metadata.truncation = true;
        message.answers.clear();
        message.authorities.clear();
        message.additionals.clear();
        if let Some(wire) = fitting(&message) {
            return Some(wire);
        }
        // The question itself does not fit (an outsider's, re-encoded larger than it came
        // with compression in it): the header alone, which no query is shorter than.
        message.queries.clear();
        message.edns = None;
        message.metadata.truncation = false;
        message.to_vec().ok()
    }

    /// SERVFAIL with empty sections and the EDE that says why, for an answer larger than a
    /// DNS message can be.
    fn too_large(&self) -> Option<Vec<u8>> {
        let mut message = self.message.clone();
        message.answers.clear();
        message.authorities.clear();
        message.additionals.clear();
        message.metadata.response_code = ResponseCode::ServFail;
        message.metadata.authentic_data = false;
        let ede = match message.edns {
            Some(_) => vec![ede::refusal(Refusal::TooLarge)],
            None => Vec::new(),
        };
        with_ede(&message, &ede, true).to_vec().ok()
    }
}

fn with_ede(message: &Message, ede: &[Ede], with_text: bool) -> Message {
    let mut message = message.clone();
    if let Some(edns) = message.edns.as_mut() {
        for e in ede {
            edns.options_mut().insert(EdnsOption::Unknown(
                EDE_OPTION,
                e.to_option_bytes(with_text),
            ));
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use hickory_proto::rr::rdata::TXT;
    use hickory_proto::rr::{RData, Record};

    fn loopback() -> Vec<IpNet> {
        vec!["127.0.0.0/8".parse().unwrap()]
    }

    fn query(edns: Option<u16>) -> Message {
        let mut msg = Message::new(0x1234, MessageType::Query, OpCode::Query);
        msg.metadata.recursion_desired = true;
        msg.add_query(Query::query(
            Name::from_ascii("example.lab.").unwrap(),
            RecordType::TXT,
        ));
        if let Some(payload) = edns {
            let mut e = Edns::new();
            e.set_max_payload(payload);
            msg.set_edns(e);
        }
        msg
    }

    fn screened_reply(packet: &[u8], client: &str) -> Message {
        match screen(packet, client.parse().unwrap(), &loopback()) {
            Screened::Reply(reply) => {
                Message::from_vec(&reply.encode(Transport::Udp).unwrap()).unwrap()
            }
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    fn ede_codes(message: &Message) -> Vec<u16> {
        let Some(edns) = &message.edns else {
            return Vec::new();
        };
        edns.options()
            .options
            .iter()
            .filter_map(|(_, o)| match o {
                EdnsOption::Unknown(EDE_OPTION, bytes) => {
                    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn short_packets_and_responses_are_dropped() {
        assert!(matches!(
            screen(&[0; 11], "127.0.0.1".parse().unwrap(), &loopback()),
            Screened::Drop
        ));
        let mut response = query(None);
        response.metadata.message_type = MessageType::Response;
        let wire = response.to_vec().unwrap();
        assert!(matches!(
            screen(&wire, "127.0.0.1".parse().unwrap(), &loopback()),
            Screened::Drop
        ));
    }

    #[test]
    fn garbage_after_a_header_gets_formerr_with_the_id() {
        let mut packet = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        packet.extend([0xff; 5]);
        let reply = screened_reply(&packet, "127.0.0.1");
        assert_eq!(reply.metadata.id, 0xabcd);
        assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
    }

    #[test]
    fn refusals_carry_ede_only_with_opt() {
        let mut no_rd = query(Some(1232));
        no_rd.metadata.recursion_desired = false;
        let reply = screened_reply(&no_rd.to_vec().unwrap(), "127.0.0.1");
        assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
        assert_eq!(ede_codes(&reply), vec![20]);

        let outsider = screened_reply(&query(Some(1232)).to_vec().unwrap(), "192.0.2.1");
        assert_eq!(outsider.metadata.response_code, ResponseCode::Refused);
        assert!(!outsider.metadata.recursion_available);
        assert!(
            ede_codes(&outsider).is_empty(),
            "EDE 18 would make the answer larger than an OPT query without options"
        );

        let plain = screened_reply(&query(None).to_vec().unwrap(), "192.0.2.1");
        assert_eq!(plain.metadata.response_code, ResponseCode::Refused);
        assert!(plain.edns.is_none());
    }

    #[test]
    fn answers_to_outsiders_are_never_larger_than_their_query() {
        // With a 12-byte option (a cookie, as dig sends) EDE 18 fits, without text.
        let mut with_cookie = query(Some(1232));
        with_cookie
            .edns
            .as_mut()
            .unwrap()
            .options_mut()
            .insert(EdnsOption::Unknown(10, vec![7; 8]));
        let packet = with_cookie.to_vec().unwrap();
        let Screened::Reply(reply) = screen(&packet, "192.0.2.1".parse().unwrap(), &loopback())
        else {
            panic!("a refusal")
        };
        for transport in [Transport::Udp, Transport::Tcp] {
            let wire = reply.encode(transport).unwrap();
            assert!(
                wire.len() <= packet.len(),
                "{} > {}",
                wire.len(),
                packet.len()
            );
            let message = Message::from_vec(&wire).unwrap();
            assert_eq!(ede_codes(&message), vec![18]);
            let edns = message.edns.unwrap();
            let (_, option) = edns
                .options()
                .options
                .iter()
                .find(|(code, _)| u16::from(*code) == EDE_OPTION)
                .unwrap();
            assert!(
                matches!(option, EdnsOption::Unknown(_, bytes) if bytes.len() == 2),
                "no EXTRA-TEXT"
            );
        }
        // Protocol errors to outsiders are capped too: an unknown opcode, a bad version.
        let mut notify = query(None);
        notify.metadata.op_code = OpCode::Notify;
        let mut v1 = query(Some(1232));
        v1.edns.as_mut().unwrap().set_version(1);
        for q in [notify, v1, query(None)] {
            let packet = q.to_vec().unwrap();
            let reply = screened_reply(&packet, "192.0.2.1");
            assert!(reply.to_vec().unwrap().len() <= packet.len(), "{reply}");
        }
    }

    #[test]
    fn mapped_ipv4_clients_match_ipv4_networks() {
        assert!(is_allowed("::ffff:127.0.0.1".parse().unwrap(), &loopback()));
        assert!(!is_allowed("::1".parse().unwrap(), &loopback()));
    }

    #[test]
    fn edns_version_one_gets_badvers() {
        let mut q = query(Some(1232));
        q.edns.as_mut().unwrap().set_version(1);
        let reply = screened_reply(&q.to_vec().unwrap(), "127.0.0.1");
        // BADVERS is extended RCODE 16 (which hickory also knows as BADSIG).
        assert_eq!(u16::from(reply.metadata.response_code), 16);
        assert_eq!(reply.edns.unwrap().version(), 0);
    }

    #[test]
    fn oversized_answers_shed_ede_text_then_ede_then_truncate() {
        let request = Request {
            query: query(Some(512)),
            name: Name::from_ascii("example.lab.").unwrap(),
            rtype: RecordType::TXT,
            client: "127.0.0.1".parse().unwrap(),
        };
        let mut reply = Reply::to(&request.query);
        let txt = |len: usize| {
            Record::from_rdata(
                request.name.clone(),
                60,
                // Character-strings hold at most 255 bytes: split the payload.
                RData::TXT(TXT::new(vec!["x".repeat(len / 2), "x".repeat(len / 2)])),
            )
        };
        reply.message.answers = vec![txt(300)];
        reply.add_ede(Ede::new(
            crate::explain::EdeCode::OtherError,
            "y".repeat(200),
        ));
        // Fits without the text: the code survives.
        let small = Message::from_vec(&reply.encode(Transport::Udp).unwrap()).unwrap();
        assert_eq!(ede_codes(&small), vec![0]);
        assert_eq!(small.answers.len(), 1);
        // Too big even without EDE: TC, empty sections, OPT kept.
        reply.message.answers = vec![txt(250), txt(250)];
        let cut = Message::from_vec(&reply.encode(Transport::Udp).unwrap()).unwrap();
        assert!(cut.metadata.truncation);
        assert!(cut.answers.is_empty() && cut.edns.is_some());
        // TCP carries everything.
        let full = Message::from_vec(&reply.encode(Transport::Tcp).unwrap()).unwrap();
        assert_eq!(full.answers.len(), 2);
        assert_eq!(ede_codes(&full), vec![0]);
    }

    #[test]
    fn an_answer_larger_than_a_dns_message_is_servfail_over_tcp_never_partial() {
        let name = Name::from_ascii("big.lab.").unwrap();
        let mut reply = Reply::to(&query(Some(1232)));
        // 300 TXT records of 250 octets: about 78 KB, more than 65,535 even compressed.
        reply.message.answers = (0..300)
            .map(|i| {
                Record::from_rdata(
                    name.clone(),
                    60,
                    RData::TXT(TXT::new(vec![format!("{i:03}{}", "x".repeat(247))])),
                )
            })
            .collect();
        let wire = reply.encode(Transport::Tcp).expect("an answer is sent");
        let answer = Message::from_vec(&wire).unwrap();
        assert_eq!(answer.metadata.response_code, ResponseCode::ServFail);
        assert!(!answer.metadata.truncation);
        assert!(answer.answers.is_empty());
        assert_eq!(ede_codes(&answer), vec![0]);
        // A large answer that fits is sent whole.
        reply.message.answers.truncate(200);
        let whole = Message::from_vec(&reply.encode(Transport::Tcp).unwrap()).unwrap();
        assert_eq!(whole.answers.len(), 200);
        assert_eq!(whole.metadata.response_code, ResponseCode::NoError);
    }
}
