package contracts_test

import (
	"testing"

	"github.com/messina-oms/messina/contracts"
)

func TestSmoke(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uk := b.site(t, "UK", "GBP", ukRules())
	c := b.contract(t, uk, uk.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "2", "100"})
	invs := b.postRun(t, uk, date(2025, 1, 1))
	t.Logf("%+v %+v", c, invs)
}
