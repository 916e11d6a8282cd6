use std::time::Instant;

use super::*;
use crate::config::WebSettings;

/// The browser contexts open in the browser now.
async fn open_contexts(browsers: &Browsers) -> Vec<String> {
    let cdp = browsers.browser().await.unwrap();
    let answer = cdp
        .call(
            "Target.getBrowserContexts",
            json!({}),
            None,
            COMMAND_TIMEOUT,
        )
        .await
        .unwrap();
    serde_json::from_value(answer["browserContextIds"].clone()).unwrap()
}

#[tokio::test]
async fn each_session_has_its_own_context_and_letting_go_of_it_closes_it() {
    let settings = BrowserSettings::default();
    assert!(
        find_chromium(&settings).is_some(),
        "the browser tests need Chromium"
    );
    let guard = NetGuard::new(&WebSettings::default(), None).unwrap();
    let browsers = Browsers::new(settings, guard, Arc::new(Jail::host()));
    let (mine, other) = (BrowserSession::default(), BrowserSession::default());
    let id = browsers.context(&mine).await.unwrap().id.clone();
    let other_id = browsers.context(&other).await.unwrap().id.clone();
    assert_ne!(id, other_id);
    assert_eq!(browsers.context(&mine).await.unwrap().id, id, "kept");
    assert!(open_contexts(&browsers).await.contains(&id));

    drop(mine);
    let deadline = Instant::now() + Duration::from_secs(20);
    while open_contexts(&browsers).await.contains(&id) {
        assert!(Instant::now() < deadline, "the context was not closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(open_contexts(&browsers).await.contains(&other_id));
}
