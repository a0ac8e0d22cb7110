//! The HTTPS acceptor refuses, at load, what would fail every till's
//! handshake: a key that is not the certificate's, a file with no
//! certificate, a missing file (named in the error).

use tongka_config::{ChainNewOptions, HTTPS_CERT_FILE, HTTPS_KEY_FILE, NODE_CERT_FILE, chain_new};
use tongka_net::NetError;
use tongka_net::https::Acceptor;

#[test]
fn the_acceptor_loads_a_chain_certificate_and_refuses_mismatches() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = |name: &str| {
        let dir = tmp.path().join(name);
        chain_new(&ChainNewOptions {
            https_hosts: vec!["till-gw.lan".to_owned()],
            ..ChainNewOptions::new(&dir, 2)
        })
        .unwrap();
        dir
    };
    let a = chain("a");
    let (s1, s2) = (a.join("store-1"), a.join("store-2"));
    Acceptor::load(&s1.join(HTTPS_CERT_FILE), &s1.join(HTTPS_KEY_FILE)).unwrap();

    let err = Acceptor::load(&s1.join(HTTPS_CERT_FILE), &s2.join(HTTPS_KEY_FILE)).unwrap_err();
    assert!(
        matches!(&err, NetError::Certificate { reason, .. } if reason.contains("does not fit")),
        "{err}"
    );
    let err = Acceptor::load(&s1.join(HTTPS_KEY_FILE), &s1.join(HTTPS_KEY_FILE)).unwrap_err();
    assert!(
        matches!(&err, NetError::Certificate { reason, .. } if reason.contains("no CERTIFICATE")),
        "{err}"
    );
    // The node's QUIC certificate is not the HTTPS key's either.
    let err = Acceptor::load(&s1.join(NODE_CERT_FILE), &s1.join(HTTPS_KEY_FILE)).unwrap_err();
    assert!(matches!(err, NetError::Certificate { .. }), "{err}");
    let missing = s1.join("nowhere.pem");
    let err = Acceptor::load(&missing, &s1.join(HTTPS_KEY_FILE)).unwrap_err();
    assert!(matches!(err, NetError::Io { .. }), "{err}");
    assert!(err.to_string().contains("nowhere.pem"), "{err}");
}
