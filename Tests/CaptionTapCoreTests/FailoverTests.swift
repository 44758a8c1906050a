import CaptionTapCore
import Testing

/// When to leave a failing backend and when to go back (the switching itself is tested end to
/// end in RealtimeSessionTests and EmbeddedBackendTests).
@Suite struct FailoverTests {
    @Test func aBackendFailingLongEnoughIsLeftAndTriedAgainPeriodically() {
        var f = Failover(afterSeconds: 20)
        let r1 = f.shouldFallBack(now: 100)
        #expect(!r1)
        f.primaryFailed(now: 100)
        f.primaryFailed(now: 110)  // still the same outage: counted from its start
        let r2 = f.shouldFallBack(now: 119)
        #expect(!r2)
        let r3 = f.shouldFallBack(now: 120)
        #expect(r3)
        #expect(f.current == .fallback)
        let r4 = f.shouldFallBack(now: 121)
        #expect(!r4, "only once")
        let r5 = f.shouldTryPrimary(now: 139)
        #expect(!r5)
        let r6 = f.shouldTryPrimary(now: 140)
        #expect(r6)
        let r7 = f.shouldTryPrimary(now: 150)
        #expect(!r7)
        let r8 = f.shouldTryPrimary(now: 160)
        #expect(r8)
        f.backOnPrimary()
        #expect(f.current == .primary && f.troubleSince == nil)
    }

    @Test func aWorkingOrAnsweringBackendEndsTheTrouble() {
        var answered = Failover(afterSeconds: 20)
        answered.primaryFailed(now: 0)
        answered.primaryAnswered()
        let r9 = answered.shouldFallBack(now: 100)
        #expect(!r9)

        // A session that keeps working for half the time ends it too...
        var working = Failover(afterSeconds: 20)
        working.primaryFailed(now: 0)
        working.primaryWorks(now: 5)
        let r10 = working.shouldFallBack(now: 15)
        #expect(!r10)
        #expect(working.troubleSince == nil)
        // ...but one that works and then fails again (an exhausted quota) does not.
        var quota = Failover(afterSeconds: 20)
        quota.primaryFailed(now: 0)
        quota.primaryWorks(now: 1)
        quota.primaryFailed(now: 5)
        quota.primaryWorks(now: 6)
        quota.primaryFailed(now: 10)
        let r11 = quota.shouldFallBack(now: 20)
        #expect(r11)
    }

    @Test func aPrimaryThatOpensButFailsBeforeAnsweringIsLeftAtOnceAndTriedLessOften() {
        var f = Failover(afterSeconds: 20)
        f.primaryFailed(now: 0)
        _ = f.shouldFallBack(now: 20)
        let tried = f.shouldTryPrimary(now: 40)
        #expect(tried)
        f.backOnPrimary()  // a session opened: on trial
        #expect(f.onTrial && f.current == .primary)
        f.primaryWorks(now: 41)  // session.updated: not yet proof
        let stay = f.shouldFallBack(now: 41)
        #expect(!stay && f.onTrial)
        f.primaryFailed(now: 42)  // its first request: insufficient_quota
        let back = f.shouldFallBack(now: 42)
        #expect(back, "a failed trial goes back at once, not after 20 s")
        #expect(f.current == .fallback && f.retrySeconds == 40)
        let early = f.shouldTryPrimary(now: 81)
        #expect(!early)
        let later = f.shouldTryPrimary(now: 82)
        #expect(later)
        // Every failed trial doubles the wait, up to the cap.
        for _ in 0..<10 {
            f.backOnPrimary()
            f.primaryFailed(now: 100)
            _ = f.shouldFallBack(now: 100)
        }
        #expect(f.retrySeconds == f.maxRetrySeconds)
        // A trial that delivers a transcript ends it: back for good, and the wait starts over.
        f.backOnPrimary()
        let ended = f.primaryAnswered()
        #expect(ended)
        #expect(!f.onTrial && f.retrySeconds == 20)
        let again = f.primaryAnswered()
        #expect(!again, "only the trial's end is reported")
        f.primaryFailed(now: 200)  // a failure after the trial waits out the usual 20 s
        let soon = f.shouldFallBack(now: 210)
        #expect(!soon)
    }

    @Test func aTranscriptEndsATrialEvenIfARequestFailedBesideIt() {
        var f = Failover(afterSeconds: 20)
        f.primaryFailed(now: 0)
        _ = f.shouldFallBack(now: 20)
        _ = f.shouldTryPrimary(now: 40)
        f.backOnPrimary()
        f.primaryFailed(now: 41)  // one request rate-limited...
        let ended = f.primaryAnswered()  // ...another answered, in the same batch
        #expect(ended && !f.onTrial)
        let left = f.shouldFallBack(now: 41)
        #expect(!left, "a primary that just delivered a transcript is kept")
    }
}
