package tx

// Field numbers of the wire format, for the black-box tests that build
// malformed encodings.
const (
	TxBodyField              = txBodyField
	TxPubKeyField            = txPubKeyField
	TxSignatureField         = txSignatureField
	BodyUpdateValidatorField = bodyUpdateValidatorField
)
