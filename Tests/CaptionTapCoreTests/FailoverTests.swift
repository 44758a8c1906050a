import CaptionTapCore
import Testing

/// When to leave a failing backend and when to go back (the switching itself is tested end to
/// end in RealtimeSessionTests and EmbeddedBackendTests).
@Suite struct FailoverTests {
    @Test func aBackendFailingLongEnoughIsLeftAndTriedAgainPeriodically() {
        var f = Failover(afterSeconds: 20)
        #expect(!f.shouldFallBack(now: 100))
        f.primaryFailed(now: 100)
        f.primaryFailed(now: 110)  // still the same outage: counted from its start
        #expect(!f.shouldFallBack(now: 119))
        #expect(f.shouldFallBack(now: 120))
        #expect(f.current == .fallback)
        #expect(!f.shouldFallBack(now: 121), "only once")
        #expect(!f.shouldTryPrimary(now: 139))
        #expect(f.shouldTryPrimary(now: 140))
        #expect(!f.shouldTryPrimary(now: 150))
        #expect(f.shouldTryPrimary(now: 160))
        f.backOnPrimary()
        #expect(f.current == .primary && f.troubleSince == nil)
    }

    @Test func aWorkingOrAnsweringBackendEndsTheTrouble() {
        var answered = Failover(afterSeconds: 20)
        answered.primaryFailed(now: 0)
        answered.primaryAnswered()
        #expect(!answered.shouldFallBack(now: 100))

        // A session that keeps working for half the time ends it too...
        var working = Failover(afterSeconds: 20)
        working.primaryFailed(now: 0)
        working.primaryWorks(now: 5)
        #expect(!working.shouldFallBack(now: 15))
        #expect(working.troubleSince == nil)
        // ...but one that works and then fails again (an exhausted quota) does not.
        var quota = Failover(afterSeconds: 20)
        quota.primaryFailed(now: 0)
        quota.primaryWorks(now: 1)
        quota.primaryFailed(now: 5)
        quota.primaryWorks(now: 6)
        quota.primaryFailed(now: 10)
        #expect(quota.shouldFallBack(now: 20))
    }
}
