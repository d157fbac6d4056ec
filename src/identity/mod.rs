//! Who a caller is, and what it acts as in AWS: the OAuth 2.1 resource server that turns an
//! identity provider's access tokens into callers ([`oauth`], with the provider's keys in
//! [`jwks`]), and the AWS roles file that makes each caller act as its own IAM role
//! ([`aws_roles`], pure; [`assume`], the STS calls).

pub mod assume;
pub mod aws_roles;
pub mod jwks;
pub mod oauth;
pub mod principal;
