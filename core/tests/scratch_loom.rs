#![cfg(loom)]
use sessions_core::proto::chardev;
use sessions_core::sync::*;
use sessions_core::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc as SArc;

fn seed<P: Platform>(style: Style, lvl: TraceLevel) -> TraceLog {
    let k = Kernel::<P>::new(KernelConfig { trace: lvl, ..KernelConfig::default() });
    let dev = k.server("dev", chardev::server(b"abcdefgh"));
    let client = k.task("client");
    let sess = Session::connect(&client, &dev, chardev::iface(style), 0, 0).unwrap();
    let fs: Vec<_> = ["A", "B"].into_iter().map(|n| {
        let sess = sess.clone();
        client.spawn(n, move || { let e = sess.begin()?; chardev::read(&e, 4) })
    }).collect();
    for f in fs { f.join().unwrap().unwrap(); }
    sess.hangup().unwrap();
    k.finish()
}

#[test]
fn loom_seed() {
    for style in [Style::Serialize, Style::Parallel] {
      for lvl in [TraceLevel::Full, TraceLevel::Off] {
        let n = SArc::new(AtomicUsize::new(0));
        let n2 = n.clone();
        let t = std::time::Instant::now();
        loom::model(move || { n2.fetch_add(1, Ordering::Relaxed); seed::<LoomPlatform>(style, lvl); });
        eprintln!("{style} {lvl:?}: {} executions in {:?}", n.load(Ordering::Relaxed), t.elapsed());
      }
    }
}
