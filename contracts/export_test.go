package contracts

// TranslateForTest exposes translate to the tests of database rules that
// have no service method (updates the service never issues).
func TranslateForTest(err error) error { return translate(err, "not_found") }
