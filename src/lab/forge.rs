//! Answer forgeries: the server faults that rewrite a signed answer after it was built and
//! before it goes on the wire, the way an on-path attacker or a compromised server would.
//!
//! Each rewrite attacks one check a validator must make: data signed with another zone's
//! key (RFC 4035 §5.3.1: the Signer's Name must be the zone the RRset came from), a genuine
//! RRSIG relabelled to another signer (same rule; for a DS, the parent's signature), and a
//! CNAME next to a DNAME that does not follow from it (RFC 6672 §3.2, §5.3.1: the resolver
//! synthesises the CNAME itself). A forged signature is genuinely made with the other zone's
//! published ZSK, by the lab's own signer, so only the signer check can reject it.
//!
//! Limitations: only the answer section is forged (`relabel-signer` acts on every section);
//! a forged RRset is one record; rewrites apply to owners inside the server's own zones.

use std::sync::Arc;

use hickory_proto::dnssec::rdata::{DNSSECRData, RRSIG};
use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::answer::Reply;
use super::keys::SigningKey;
use super::signer::Signer;

/// A signed zone's ZSK as another zone's attacker would use it: the private key, the tag
/// and algorithm of the ZSK that zone publishes, and that zone's name.
pub struct ForeignKey {
    pub zone: Name,
    pub key: SigningKey,
    pub key_tag: u16,
    pub algorithm: u8,
    /// The normal signature window of the lab (inception, expiration).
    pub window: (u32, u32),
}

/// Which answer records a rewrite touches: these types, owned by these names (any name
/// inside the server's zones when `names` is None).
pub struct Selection {
    pub types: Vec<RecordType>,
    pub names: Option<Vec<Name>>,
}

/// One declared rewrite, checked and resolved at load.
pub enum Rewrite {
    /// Data replaced (one record per type), genuine RRSIGs dropped, a foreign RRSIG added.
    Resign {
        selection: Selection,
        data: Vec<(RecordType, RData)>,
        key: Arc<ForeignKey>,
    },
    /// Data replaced when `data` is non-empty; the genuine RRSIGs keep their signature bytes
    /// but name `signer`.
    Relabel {
        selection: Selection,
        data: Vec<(RecordType, RData)>,
        signer: Name,
        every_section: bool,
    },
    /// The CNAME synthesised from a DNAME points at `target`; what followed it is removed.
    DnameCname { target: Name },
}

/// All rewrites of one server, applied in declaration order.
#[derive(Default)]
pub struct Forgery {
    pub rewrites: Vec<Rewrite>,
    /// The apexes of the zones the server serves: only records owned inside them are forged.
    pub zones: Vec<Name>,
}

/// What becomes of the genuine RRSIGs over a rewritten RRset.
#[derive(Clone, Copy)]
enum Signatures<'a> {
    /// Dropped, and (with DO) one RRSIG made with this foreign key added.
    Resign(&'a ForeignKey, bool),
    /// Kept with this Signer's Name.
    Relabel(&'a Name),
}

impl Signatures<'_> {
    /// The RRSIGs to place after `rrset`, from the genuine ones over it.
    fn over(self, rrset: &[Record], genuine: Vec<Record>) -> Vec<Record> {
        match self {
            Signatures::Resign(_, false) => Vec::new(),
            Signatures::Resign(key, true) => {
                let signer = Signer {
                    key: &key.key,
                    key_tag: key.key_tag,
                    algorithm: key.algorithm,
                    name: &key.zone,
                };
                signer.rrsig(rrset, key.window).into_iter().collect()
            }
            Signatures::Relabel(name) => genuine
                .into_iter()
                .map(|mut sig| {
                    relabel_signer(&mut sig, name);
                    sig
                })
                .collect(),
        }
    }
}

impl Forgery {
    pub fn is_empty(&self) -> bool {
        self.rewrites.is_empty()
    }

    /// Rewrites `reply` in place; a reply without what a rewrite targets is left alone.
    pub fn apply(&self, reply: &mut Reply, dnssec_ok: bool) {
        for rewrite in &self.rewrites {
            match rewrite {
                Rewrite::Resign {
                    selection,
                    data,
                    key,
                } => {
                    let how = Signatures::Resign(key, dnssec_ok);
                    self.rewrite(&mut reply.answers, selection, data, how);
                }
                Rewrite::Relabel {
                    selection,
                    data,
                    signer,
                    every_section,
                } => {
                    let how = Signatures::Relabel(signer);
                    self.rewrite(&mut reply.answers, selection, data, how);
                    if *every_section {
                        self.rewrite(&mut reply.authorities, selection, data, how);
                        self.rewrite(&mut reply.additionals, selection, data, how);
                    }
                }
                Rewrite::DnameCname { target } => self.forge_dname_cname(reply, target),
            }
        }
    }

    fn owned_here(&self, name: &Name) -> bool {
        self.zones.iter().any(|apex| apex.zone_of(name))
    }

    fn selected(&self, selection: &Selection, name: &Name, rtype: RecordType) -> bool {
        selection.types.contains(&rtype)
            && self.owned_here(name)
            && selection
                .names
                .as_ref()
                .is_none_or(|names| names.contains(name))
    }

    /// Rewrites one section in place. Each selected RRset is replaced by one record with
    /// the data for its type (when `data` has one) and followed by the RRSIGs `how` makes of
    /// the genuine ones over it; everything else keeps its place.
    fn rewrite(
        &self,
        section: &mut Vec<Record>,
        selection: &Selection,
        data: &[(RecordType, RData)],
        how: Signatures,
    ) {
        let records = std::mem::take(section);
        let is_sig_over = |sig: &Record, name: &Name, rtype: RecordType| {
            &sig.name == name && covered_type(sig) == Some(rtype)
        };
        let mut done: Vec<(Name, RecordType)> = Vec::new();
        for record in &records {
            let rtype = record.record_type();
            if let Some(covered) = covered_type(record) {
                let has_rrset = records
                    .iter()
                    .any(|r| r.name == record.name && r.record_type() == covered);
                if !self.selected(selection, &record.name, covered) {
                    section.push(record.clone());
                } else if let (false, Signatures::Relabel(name)) = (has_rrset, how) {
                    // A signature without its RRset in this section: relabelled where it is
                    // (a re-signing attacker simply drops it).
                    let mut sig = record.clone();
                    relabel_signer(&mut sig, name);
                    section.push(sig);
                }
                continue; // the others are placed after the RRset they cover
            }
            if !self.selected(selection, &record.name, rtype) {
                section.push(record.clone());
                continue;
            }
            if done.contains(&(record.name.clone(), rtype)) {
                continue;
            }
            done.push((record.name.clone(), rtype));
            let rrset: Vec<Record> = match data.iter().find(|(t, _)| *t == rtype) {
                Some((_, forged)) => vec![Record::from_rdata(
                    record.name.clone(),
                    record.ttl,
                    forged.clone(),
                )],
                None => records
                    .iter()
                    .filter(|r| r.name == record.name && r.record_type() == rtype)
                    .cloned()
                    .collect(),
            };
            let genuine: Vec<Record> = records
                .iter()
                .filter(|s| is_sig_over(s, &record.name, rtype))
                .cloned()
                .collect();
            let sigs = how.over(&rrset, genuine);
            section.extend(rrset);
            section.extend(sigs);
        }
    }

    /// RFC 6672 §2.2: the CNAME synthesised for a name below a DNAME owner. It is rewritten
    /// to `target`, and every answer record after it (the genuine target's data), the
    /// authority section and the additional section (which described that target) go.
    fn forge_dname_cname(&self, reply: &mut Reply, target: &Name) {
        let dnames: Vec<Name> = reply
            .answers
            .iter()
            .filter(|r| r.record_type() == RecordType::DNAME && self.owned_here(&r.name))
            .map(|r| r.name.clone())
            .collect();
        let synthesised = reply.answers.iter().position(|r| {
            r.record_type() == RecordType::CNAME
                && dnames.iter().any(|d| d.zone_of(&r.name) && d != &r.name)
        });
        let Some(at) = synthesised else {
            return;
        };
        reply.answers[at].data = RData::CNAME(CNAME(target.clone()));
        reply.answers.truncate(at + 1);
        reply.authorities.clear();
        reply.additionals.clear();
    }
}

/// The type an RRSIG record covers; None for any other record.
fn covered_type(record: &Record) -> Option<RecordType> {
    match &record.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig.input().type_covered),
        _ => None,
    }
}

/// Sets the Signer's Name of an RRSIG record, keeping every other field and the signature.
fn relabel_signer(record: &mut Record, signer: &Name) {
    if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &record.data {
        let mut input = sig.input().clone();
        input.signer_name = signer.clone();
        let rrsig = RRSIG::from_sig(input, sig.sig().to_vec());
        record.data = RData::DNSSEC(DNSSECRData::RRSIG(rrsig));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::keys::{self, alg};
    use crate::lab::spec::KeyRole;
    use hickory_proto::dnssec::rdata::sig::SigInput;
    use hickory_proto::dnssec::{Algorithm, TBS};
    use hickory_proto::rr::rdata::NULL;
    use hickory_proto::rr::{DNSClass, SerialNumber};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn ipv4(last: u8) -> RData {
        RData::A(std::net::Ipv4Addr::new(192, 0, 2, last).into())
    }

    fn a(owner: &str, last: u8) -> Record {
        Record::from_rdata(name(owner), 300, ipv4(last))
    }

    fn rrsig(owner: &str, covered: RecordType, signer: &str, bytes: &[u8]) -> Record {
        let input = SigInput {
            type_covered: covered,
            algorithm: Algorithm::ECDSAP256SHA256,
            num_labels: name(owner).num_labels(),
            original_ttl: 300,
            sig_expiration: SerialNumber::new(2_000_000_000),
            sig_inception: SerialNumber::new(1_000_000_000),
            key_tag: 1,
            signer_name: name(signer),
        };
        let data = RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, bytes.to_vec())));
        Record::from_rdata(name(owner), 300, data)
    }

    fn sig_of(record: &Record) -> &RRSIG {
        match &record.data {
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) => sig,
            other => panic!("not an RRSIG: {other:?}"),
        }
    }

    fn forgery(rewrite: Rewrite) -> Forgery {
        Forgery {
            rewrites: vec![rewrite],
            zones: vec![name("x.lab.")],
        }
    }

    fn only_a() -> Selection {
        Selection {
            types: vec![RecordType::A],
            names: None,
        }
    }

    fn valid_zsk() -> SigningKey {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testzones");
        let path = keys::key_path(&dir, "valid.lab.", KeyRole::Zsk);
        SigningKey::load(&path, alg::ECDSAP256SHA256, KeyRole::Zsk).unwrap()
    }

    #[test]
    fn resign_replaces_the_rrset_and_signs_it_with_the_foreign_key() {
        let key = valid_zsk();
        let public = key.public_key.clone();
        let rewrite = Rewrite::Resign {
            selection: only_a(),
            data: vec![(RecordType::A, ipv4(66))],
            key: Arc::new(ForeignKey {
                zone: name("valid.lab."),
                key,
                key_tag: 4242,
                algorithm: alg::ECDSAP256SHA256,
                window: (1_000, 2_000),
            }),
        };
        let genuine = vec![
            a("www.x.lab.", 1),
            a("www.x.lab.", 2),
            rrsig("www.x.lab.", RecordType::A, "x.lab.", &[1, 2, 3]),
            a("www.other.lab.", 3),
        ];
        let mut reply = Reply {
            answers: genuine.clone(),
            ..Reply::default()
        };
        forgery(rewrite).apply(&mut reply, true);
        assert_eq!(reply.answers.len(), 3, "{:?}", reply.answers);
        assert_eq!(reply.answers[0].data, ipv4(66));
        assert_eq!(reply.answers[0].ttl, 300);
        let sig = sig_of(&reply.answers[1]);
        let input = sig.input();
        assert_eq!(input.signer_name, name("valid.lab."));
        assert_eq!((input.key_tag, input.num_labels), (4242, 3));
        assert_eq!(input.type_covered, RecordType::A);
        assert_eq!(input.original_ttl, 300);
        assert_eq!(
            (input.sig_inception.get(), input.sig_expiration.get()),
            (1_000, 2_000)
        );
        // RFC 4034 §3.1.8.1 signed data, verified with valid.lab.'s public ZSK.
        let tbs = TBS::from_input(
            &name("www.x.lab."),
            DNSClass::IN,
            input,
            reply.answers[..1].iter(),
        )
        .unwrap();
        let mut point = vec![4u8];
        point.extend(public);
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(tbs.as_ref(), sig.sig())
            .expect("the forged RRSIG verifies with the foreign ZSK");
        // Outside the server's zones nothing changes.
        assert_eq!(reply.answers[2], genuine[3]);

        // Without DO: the forged data and no signature.
        let rewrite = Rewrite::Resign {
            selection: only_a(),
            data: vec![(RecordType::A, ipv4(66))],
            key: Arc::new(ForeignKey {
                zone: name("valid.lab."),
                key: valid_zsk(),
                key_tag: 1,
                algorithm: alg::ECDSAP256SHA256,
                window: (1_000, 2_000),
            }),
        };
        let mut reply = Reply {
            answers: genuine[..2].to_vec(),
            ..Reply::default()
        };
        forgery(rewrite).apply(&mut reply, false);
        assert_eq!(reply.answers.len(), 1);
        assert_eq!(reply.answers[0].data, ipv4(66));
    }

    #[test]
    fn relabel_keeps_signature_bytes_and_only_touches_selected_names() {
        let rewrite = Rewrite::Relabel {
            selection: Selection {
                types: vec![RecordType::A],
                names: Some(vec![name("www.x.lab.")]),
            },
            data: vec![(RecordType::A, ipv4(66))],
            signer: name("unsigned.lab."),
            every_section: false,
        };
        let mut reply = Reply {
            answers: vec![
                a("x.lab.", 1),
                rrsig("x.lab.", RecordType::A, "x.lab.", &[9]),
                a("www.x.lab.", 1),
                rrsig("www.x.lab.", RecordType::A, "x.lab.", &[7, 7]),
            ],
            ..Reply::default()
        };
        forgery(rewrite).apply(&mut reply, true);
        assert_eq!(reply.answers[0], a("x.lab.", 1));
        assert_eq!(
            sig_of(&reply.answers[1]).input().signer_name,
            name("x.lab.")
        );
        assert_eq!(reply.answers[2].data, ipv4(66));
        let sig = sig_of(&reply.answers[3]);
        assert_eq!(sig.input().signer_name, name("unsigned.lab."));
        assert_eq!(sig.sig(), &[7, 7]);
    }

    #[test]
    fn relabel_signer_acts_on_the_authority_section_too() {
        let ds = Record::from_rdata(
            name("child.x.lab."),
            300,
            RData::Unknown {
                code: RecordType::DS,
                rdata: NULL::with(vec![1, 2, 13, 2, 0xaa]),
            },
        );
        let rewrite = Rewrite::Relabel {
            selection: Selection {
                types: vec![RecordType::DS],
                names: None,
            },
            data: Vec::new(),
            signer: name("unsigned.lab."),
            every_section: true,
        };
        let ns = Record::from_rdata(
            name("child.x.lab."),
            300,
            RData::NS(hickory_proto::rr::rdata::NS(name("ns1.child.x.lab."))),
        );
        let mut reply = Reply {
            authorities: vec![
                ns.clone(),
                ds.clone(),
                rrsig("child.x.lab.", RecordType::DS, "x.lab.", &[5]),
            ],
            ..Reply::default()
        };
        forgery(rewrite).apply(&mut reply, true);
        assert_eq!(reply.authorities[..2], [ns, ds]);
        let sig = sig_of(&reply.authorities[2]);
        assert_eq!(sig.input().signer_name, name("unsigned.lab."));
        assert_eq!(sig.sig(), &[5]);
    }

    #[test]
    fn dname_cname_is_forged_only_under_a_dname() {
        let dname = Record::from_rdata(
            name("old.x.lab."),
            300,
            RData::Unknown {
                code: RecordType::DNAME,
                rdata: NULL::with(vec![3, b'n', b'e', b'w', 1, b'x', 3, b'l', b'a', b'b', 0]),
            },
        );
        let cname = |owner: &str, target: &str| {
            Record::from_rdata(name(owner), 300, RData::CNAME(CNAME(name(target))))
        };
        let forged = forgery(Rewrite::DnameCname {
            target: name("www.valid.lab."),
        });
        let mut reply = Reply {
            answers: vec![
                dname.clone(),
                rrsig("old.x.lab.", RecordType::DNAME, "x.lab.", &[1]),
                cname("www.old.x.lab.", "www.new.x.lab."),
                a("www.new.x.lab.", 9),
                rrsig("www.new.x.lab.", RecordType::A, "x.lab.", &[2]),
            ],
            authorities: vec![a("x.lab.", 1)],
            ..Reply::default()
        };
        forged.apply(&mut reply, true);
        assert_eq!(reply.answers.len(), 3);
        assert_eq!(reply.answers[0], dname);
        assert_eq!(
            reply.answers[2],
            cname("www.old.x.lab.", "www.valid.lab."),
            "the synthesised CNAME points at the attacker's target"
        );
        assert!(reply.authorities.is_empty());

        // A plain CNAME chain, without a DNAME, is left alone.
        let chain = vec![
            cname("www.x.lab.", "www.new.x.lab."),
            a("www.new.x.lab.", 9),
        ];
        let mut reply = Reply {
            answers: chain.clone(),
            ..Reply::default()
        };
        forged.apply(&mut reply, true);
        assert_eq!(reply.answers, chain);
    }
}
