//! The flow's rules, checked natively: routes, screens, stages and what counts as a change.

use super::*;
use contracts::{AspectRatio, ImageSize, codes};

fn question(index: u8) -> QuestionView {
    QuestionView {
        index,
        total: 3,
        text: format!("Question {index}?"),
        hint: "A hint.".into(),
        reask: false,
        previous_answer: None,
    }
}

fn image(n: u8) -> ImageView {
    ImageView {
        image_id: format!("{n}"),
        url: format!("/api/images/{n}"),
        mime_type: "image/png".into(),
        width: 16,
        height: 9,
        alt: "A lighthouse".into(),
        summary: "A lighthouse at dawn".into(),
        aspect_ratio: AspectRatio::Landscape16x9,
        image_size: ImageSize::OneK,
        offline_preview: true,
    }
}

fn answer(index: u8, defaulted: bool) -> AnswerView {
    AnswerView {
        index,
        question: format!("Question {index}?"),
        hint: "A hint.".into(),
        answer: format!("answer {index}"),
        defaulted,
        skipped: defaulted,
    }
}

fn refining(at: u8) -> SessionView {
    SessionView {
        template_id: "general-cinematic".into(),
        template_name: "General cinematic".into(),
        idea: "a lighthouse".into(),
        status: SessionStatus::Refining,
        question: Some(question(at)),
        answers: (1..at).map(|i| answer(i, false)).collect(),
        default_aspect_ratio: AspectRatio::Landscape16x9,
        job: None,
        last_image: None,
        images: vec![],
        can_reuse_prompt: false,
        quota: None,
        references: vec![],
    }
}

fn ready() -> SessionView {
    SessionView {
        status: SessionStatus::Ready,
        question: None,
        answers: vec![answer(1, false), answer(2, true), answer(3, false)],
        ..refining(1)
    }
}

fn job(status: JobStatus, n: u8) -> JobView {
    JobView {
        job_id: format!("j{n}"),
        status,
        image: (status == JobStatus::Succeeded).then(|| image(n)),
        images: (status == JobStatus::Succeeded)
            .then(|| image(n))
            .into_iter()
            .collect(),
        failed_images: None,
        progress: None,
        error: (status == JobStatus::Failed).then(|| ApiErrorBody {
            error: "The image service is unavailable.".into(),
            code: codes::PROVIDER_UNAVAILABLE.into(),
        }),
    }
}

fn flow(session: Option<SessionView>) -> Flow {
    let mut flow = Flow::default();
    match session {
        Some(s) => flow.on_session(s),
        None => flow.on_no_session(),
    }
    flow
}

#[test]
fn routes_round_trip_through_their_paths() {
    for route in [
        Route::Start,
        Route::Question(1),
        Route::Question(3),
        Route::Workspace,
        Route::Recipe("abc123".into()),
    ] {
        assert_eq!(Route::parse(&route.path()), route);
    }
    assert_eq!(Route::parse("/workspace/"), Route::Workspace);
    for unknown in [
        "/questions/0",
        "/questions/4",
        "/questions/x",
        "/r/",
        "/nope",
    ] {
        assert_eq!(Route::parse(unknown), Route::NotFound, "{unknown}");
    }
}

#[test]
fn nothing_is_drawn_as_a_screen_before_the_session_is_loaded() {
    assert_eq!(
        Flow::default().resolve(&Route::Workspace).screen,
        Screen::Loading
    );
    assert_eq!(flow(None).resolve(&Route::Start).screen, Screen::Start);
}

#[test]
fn without_a_session_every_step_leads_to_the_start() {
    for route in [Route::Question(2), Route::Workspace] {
        let resolved = flow(None).resolve(&route);
        assert_eq!(resolved.screen, Screen::Start);
        assert_eq!(resolved.then, Some(Then::Redirect(Route::Start)));
    }
    assert_eq!(
        flow(None).resolve(&Route::Recipe("r1".into())).screen,
        Screen::Recipe("r1".into())
    );
}

#[test]
fn a_refining_session_shows_its_question_goes_back_for_earlier_ones_and_not_ahead() {
    let f = flow(Some(refining(2)));
    assert_eq!(f.home(), Route::Question(2));
    assert_eq!(
        f.resolve(&Route::Question(2)).screen,
        Screen::Question(question(2))
    );
    let earlier = f.resolve(&Route::Question(1));
    assert_eq!(earlier.then, Some(Then::GoBack(1)));
    for ahead in [Route::Question(3), Route::Workspace] {
        let resolved = f.resolve(&ahead);
        assert_eq!(resolved.screen, Screen::Question(question(2)), "{ahead:?}");
        assert_eq!(resolved.then, Some(Then::Redirect(Route::Question(2))));
    }
}

#[test]
fn a_ready_session_shows_the_workspace_and_its_answers_as_revisable_pages() {
    let f = flow(Some(ready()));
    assert_eq!(f.home(), Route::Workspace);
    assert_eq!(f.resolve(&Route::Workspace).screen, Screen::Workspace);
    let Screen::Revise(second) = f.resolve(&Route::Question(2)).screen else {
        panic!("question 2 is revisable");
    };
    assert_eq!(second.index, 2);
    assert_eq!(second.answer, None, "a default is not prefilled");
    assert_eq!(second.current, "answer 2");
    let Screen::Revise(third) = f.resolve(&Route::Question(3)).screen else {
        panic!("question 3 is revisable");
    };
    assert_eq!(third.answer.as_deref(), Some("answer 3"));
    assert_eq!(f.resolve(&Route::Question(3)).then, None);
}

#[test]
fn later_steps_add_history_entries_and_earlier_ones_replace() {
    assert!(Route::Question(2).step() > Route::Question(1).step());
    assert!(Route::Workspace.step() > Route::Question(3).step());
    assert!(Route::Start.step() < Route::Question(1).step());
}

#[test]
fn jobs_move_the_stage_and_every_image_is_kept() {
    let mut f = flow(Some(ready()));
    assert_eq!(f.stage(), Stage::Empty);
    f.on_job(job(JobStatus::Rendering, 1));
    assert_eq!(f.stage(), Stage::Working(JobStatus::Rendering));
    assert!(f.running_job().is_some());
    f.on_job(job(JobStatus::Succeeded, 1));
    assert_eq!(f.stage(), Stage::Done);
    f.on_job(job(JobStatus::Failed, 2));
    assert!(matches!(f.stage(), Stage::Failed(e) if e.code == codes::PROVIDER_UNAVAILABLE));
    assert_eq!(f.images(), [image(1)], "a failure keeps the image");
    f.on_job(job(JobStatus::Succeeded, 3));
    f.on_job(job(JobStatus::Succeeded, 3));
    assert_eq!(f.images(), [image(3), image(1)], "newest first, once each");
    assert!(f.running_job().is_none());
}

#[test]
fn a_job_of_four_keeps_all_four_in_order_ahead_of_the_earlier_images() {
    let mut f = flow(Some(ready()));
    f.on_job(job(JobStatus::Succeeded, 1));
    let mut four = job(JobStatus::Succeeded, 2);
    four.images = (2..6).map(image).collect();
    f.on_job(four.clone());
    f.on_job(four);
    assert_eq!(
        f.images(),
        [image(2), image(3), image(4), image(5), image(1)],
        "the job's order, once each, newest job first"
    );
    assert_eq!(
        f.session.as_ref().and_then(|s| s.last_image.clone()),
        Some(image(2))
    );
}

#[test]
fn a_changed_brief_is_noticed_once_images_exist() {
    let mut session = ready();
    assert!(!flow(Some(session.clone())).brief_changed());
    session.images = vec![image(1)];
    session.can_reuse_prompt = false;
    assert!(flow(Some(session.clone())).brief_changed());
    session.can_reuse_prompt = true;
    assert!(!flow(Some(session)).brief_changed());
}

#[test]
fn another_tabs_change_is_a_difference_and_the_quota_clock_is_not() {
    let mut session = ready();
    session.quota = Some(contracts::QuotaView {
        session_left: Some(3),
        client_left: None,
        global_left: None,
        resets_in_secs: 100,
    });
    let f = flow(Some(session.clone()));
    let mut later = session.clone();
    later.quota = Some(contracts::QuotaView {
        resets_in_secs: 99,
        ..session.quota.expect("set")
    });
    assert!(!f.differs_from(Some(&later)));
    assert!(f.differs_from(Some(&refining(1))));
    assert!(f.differs_from(None));
    let mut revised = session;
    revised.answers[0].answer = "another place".into();
    assert!(f.differs_from(Some(&revised)));
}

#[test]
fn starting_over_forgets_the_session() {
    let mut f = flow(Some(ready()));
    f.on_no_session();
    assert_eq!(f.home(), Route::Start);
    assert_eq!(f.idea(), None);
}

#[test]
fn stage_changes_keep_the_workspace_while_new_questions_and_reasks_replace_it() {
    let mut reask = question(1);
    reask.reask = true;
    assert_ne!(
        Screen::Question(question(1)).key(),
        Screen::Question(reask).key()
    );
    assert_ne!(
        Screen::Question(question(1)).key(),
        Screen::Question(question(2)).key()
    );
}

#[test]
fn a_deleted_image_leaves_the_list_the_batch_and_the_newest_image() {
    let mut f = flow(Some(ready()));
    f.on_job(job(JobStatus::Succeeded, 1));
    f.on_job(job(JobStatus::Succeeded, 2));
    assert_eq!(f.images().len(), 2);

    f.on_image_deleted(&image(2).url);

    assert_eq!(f.images(), &[image(1)]);
    let session = f.session.as_ref().expect("a session");
    assert_eq!(
        session.last_image,
        Some(image(1)),
        "the newest left is the last image"
    );
    let batch = session.job.as_ref().expect("the job");
    assert!(
        batch.images.is_empty() && batch.image.is_none(),
        "no dangling variation"
    );
    assert_eq!(f.stage(), Stage::Done, "an image is still there");

    // An image another tab deleted is a difference worth redrawing for.
    let theirs = f.session.clone().expect("a session");
    let mut before = theirs.clone();
    before.images.insert(0, image(2));
    let mut drawn = flow(Some(before));
    assert!(drawn.differs_from(Some(&theirs)));
    drawn.on_image_deleted(&image(2).url);
    assert!(!drawn.differs_from(Some(&theirs)), "{:?}", drawn.images());

    f.on_image_deleted(&image(1).url);
    assert!(f.images().is_empty());
    assert_eq!(f.stage(), Stage::Empty);
}

#[test]
fn references_keep_upload_order_and_a_removed_one_goes() {
    let reference = |id: &str| ReferenceView {
        reference_id: id.into(),
        mime_type: "image/png".into(),
        width: 8,
        height: 8,
        note: format!("note {id}"),
        url: format!("/api/session/references/{id}"),
        thumbnail_url: format!("/api/session/references/{id}?w=256"),
    };
    let mut f = flow(Some(ready()));
    f.on_reference_added(reference("a"));
    f.on_reference_added(reference("b"));
    f.on_reference_added(reference("a"));
    let ids = |f: &Flow| {
        f.references()
            .iter()
            .map(|r| r.reference_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&f), ["a", "b"], "upload order, each once");
    f.on_reference_removed("a");
    assert_eq!(ids(&f), ["b"]);

    // Another tab's reference is a difference worth redrawing for.
    let mut theirs = f.session.clone().expect("a session");
    theirs.references.push(reference("c"));
    assert!(f.differs_from(Some(&theirs)));
    assert!(!f.differs_from(f.session.as_ref()));
}
